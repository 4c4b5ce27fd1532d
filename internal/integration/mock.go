package integration

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"regexp"
	"strconv"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/model"
)

// jsonContentType is shared by responses; its capacity of 1 makes an append
// copy it, so no response can change another's.
var jsonContentType = []string{"application/json"}

var statusCodeRE = regexp.MustCompile(`"statusCode"\s*:\s*"?([0-9]{3})"?`)

var errNoMockTemplate = errors.New("unable to parse statusCode: it should be an integer defined in the request template")

// mockStatus reads the statusCode a MOCK request template asks for. Until
// mapping templates are evaluated, a template is the static text it is, so
// this runs once, when the deployment is compiled.
func mockStatus(tpl string) (string, error) {
	var status string
	var doc struct {
		StatusCode json.Number `json:"statusCode"`
	}
	if err := json.Unmarshal([]byte(tpl), &doc); err == nil && doc.StatusCode != "" {
		status = doc.StatusCode.String()
	} else if m := statusCodeRE.FindStringSubmatch(tpl); m != nil {
		status = m[1]
	} else {
		return "", errors.New("MOCK request template has no statusCode")
	}
	if n, err := strconv.Atoi(status); err != nil || n < 100 || n > 599 {
		return "", errors.New("MOCK statusCode out of range: " + status)
	}
	return status, nil
}

// mockChoice is the outcome of one request template.
type mockChoice struct {
	status string
	err    error
}

// mockEndpoint answers without a backend: each request template's
// statusCode, read once.
type mockEndpoint struct {
	choices map[string]mockChoice
}

func compileMock(in *model.Integration, _ Options) (endpoint, error) {
	ep := &mockEndpoint{choices: make(map[string]mockChoice, len(in.RequestTemplates))}
	for _, tpl := range in.RequestTemplates {
		var ch mockChoice
		ch.status, ch.err = mockStatus(tpl)
		ep.choices[tpl] = ch
	}
	return ep, nil
}

// request picks the request template; its statusCode chooses the
// integration response, as on AWS.
func (ep *mockEndpoint) request(ig *Integration, c *Call, x *Exchange) error {
	tpl, ok := ig.requestTemplate(c)
	if !ok {
		return fault.ConfigurationError(errNoMockTemplate)
	}
	choice, ok := ep.choices[tpl]
	if !ok {
		// Compile saw every template; this is only reached by an
		// Integration built some other way.
		choice.status, choice.err = mockStatus(tpl)
	}
	if choice.err != nil {
		return fault.ConfigurationError(choice.err)
	}
	x.mockStatus = choice.status
	return nil
}

// call does nothing: a MOCK has no endpoint.
func (ep *mockEndpoint) call(context.Context, *Integration, *Call, *Exchange) error { return nil }

// respond answers with the integration response the statusCode selects.
func (ep *mockEndpoint) respond(ig *Integration, c *Call, x *Exchange, out *Response) error {
	status := x.mockStatus
	sel := ig.selectResponse(status)
	if sel == nil {
		return fault.ConfigurationError(errors.New("no integration response for MOCK status " + status))
	}
	h := out.Header
	sel.writeHeaders(c, h, nil)
	body, ct, ok := sel.pickTemplate(c)
	if !ok {
		ct = "application/json"
	}
	if _, set := h["Content-Type"]; !set {
		if ct == "application/json" {
			h["Content-Type"] = jsonContentType
		} else {
			h["Content-Type"] = []string{ct}
		}
	}
	out.Status = sel.status
	out.SetBody(body)
	return nil
}

// requestTemplate picks the request template for the request's content
// type, defaulting to application/json as AWS does.
func (ig *Integration) requestTemplate(c *Call) (string, bool) {
	if len(ig.templates) == 0 {
		return "", false
	}
	ct := "application/json"
	if v := c.Header.Get("Content-Type"); v != "" {
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
