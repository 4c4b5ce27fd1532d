package integration

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"regexp"
	"strconv"

	"github.com/apigw/apigw/internal/gateway/fault"
)

var statusCodeRE = regexp.MustCompile(`"statusCode"\s*:\s*"?([0-9]{3})"?`)

// invokeMock answers without a backend. The request template's statusCode
// chooses the integration response, as on AWS. Until mapping templates are
// evaluated, a template is read as the static text it is.
func (ig *Integration) invokeMock(c *Call) error {
	tpl, ok := ig.requestTemplate(c)
	if !ok {
		return fault.ConfigurationError(errors.New("unable to parse statusCode: it should be an integer defined in the request template"))
	}
	var status string
	{
		var doc struct {
			StatusCode json.Number `json:"statusCode"`
		}
		if err := json.Unmarshal([]byte(tpl), &doc); err == nil && doc.StatusCode != "" {
			status = doc.StatusCode.String()
		} else if m := statusCodeRE.FindStringSubmatch(tpl); m != nil {
			status = m[1]
		} else {
			return fault.ConfigurationError(errors.New("MOCK request template has no statusCode"))
		}
	}
	if n, err := strconv.Atoi(status); err != nil || n < 100 || n > 599 {
		return fault.ConfigurationError(errors.New("MOCK statusCode out of range: " + status))
	}
	sel := ig.selectResponse(status)
	if sel == nil {
		return fault.ConfigurationError(errors.New("no integration response for MOCK status " + status))
	}
	h := c.W.Header()
	sel.writeHeaders(c, h, nil)
	body, ct, ok := sel.pickTemplate(c)
	if !ok {
		ct = "application/json"
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", ct)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.W.WriteHeader(sel.status)
	io.WriteString(c.W, body)
	return nil
}

// requestTemplate picks the request template for the request's content
// type, defaulting to application/json as AWS does.
func (ig *Integration) requestTemplate(c *Call) (string, bool) {
	if len(ig.templates) == 0 {
		return "", false
	}
	ct := "application/json"
	if v := c.R.Header.Get("Content-Type"); v != "" {
		if mt, _, err := mime.ParseMediaType(v); err == nil {
			ct = mt
		}
	}
	if t, ok := ig.templates[ct]; ok {
		return t, true
	}
	t, ok := ig.templates["application/json"]
	return t, ok
}
