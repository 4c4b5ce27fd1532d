package integration

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/model"
)

// jsonContentType is shared by responses; its capacity of 1 makes an append
// copy it, so no response can change another's.
var jsonContentType = []string{"application/json"}

var errNoMockTemplate = errors.New("unable to parse statusCode: it should be an integer defined in the request template")

// mockStatus reads the statusCode a MOCK's rendered request template (or,
// passed through, its body) asks for: the "statusCode" member's integer
// (quoted or not), from 100 to 599. It scans rather than decodes, so that
// a request pays no JSON decoder.
func mockStatus(tpl string) (string, error) {
	i := strings.Index(tpl, `"statusCode"`)
	if i < 0 {
		return "", errNoMockTemplate
	}
	rest := strings.TrimLeft(tpl[i+len(`"statusCode"`):], " \t\r\n")
	if rest == "" || rest[0] != ':' {
		return "", errNoMockTemplate
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	quoted := rest != "" && rest[0] == '"'
	if quoted {
		rest = rest[1:]
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n < len(rest) && (rest[n] == '.' || rest[n] == 'e' || rest[n] == 'E') || quoted && (n == len(rest) || rest[n] != '"') {
		return "", errNoMockTemplate
	}
	status := rest[:n]
	if code, err := strconv.Atoi(status); err != nil || n != 3 || code < 100 || code > 599 {
		return "", errors.New("MOCK statusCode out of range: " + status)
	}
	return status, nil
}

// mockChoice is the outcome of one static request template.
type mockChoice struct {
	status string
	err    error
}

// mockEndpoint answers without a backend.
type mockEndpoint struct{}

func compileMock(*model.Integration, Options) (endpoint, error) { return mockEndpoint{}, nil }

// request renders the request template; its statusCode chooses the
// integration response, as on AWS. A template that names no variable was
// rendered, and its statusCode read, when the deployment was compiled. A
// request that passes through gives its own body.
func (mockEndpoint) request(ig *Integration, c *Call, x *Exchange) error {
	mt, err := ig.requestTemplate(c)
	if err != nil {
		return err
	}
	var text []byte
	switch {
	case mt == nil:
		if c.ContentLength != 0 {
			if text, err = readLimited(c.Body); err != nil {
				return bodyReadError(err)
			}
		}
	case mt.static && mt.err == nil:
		if mt.mock.err != nil {
			return fault.ConfigurationError(mt.mock.err)
		}
		x.mockStatus = mt.mock.status
		return nil
	default:
		var ov *override
		if text, ov, err = renderRequest(mt, c, nil); err != nil {
			return err
		}
		if ov != nil {
			x.reqOverride = ov.m
		}
	}
	status, err := mockStatus(string(text))
	if err != nil {
		return fault.ConfigurationError(err)
	}
	x.mockStatus = status
	return nil
}

// call does nothing: a MOCK has no endpoint.
func (mockEndpoint) call(context.Context, *Integration, *Call, *Exchange) error { return nil }

// respond answers with the integration response the statusCode selects,
// its template rendered over an empty body.
func (mockEndpoint) respond(ig *Integration, c *Call, x *Exchange, out *Response) error {
	status := x.mockStatus
	sel := ig.selectResponse(status)
	if sel == nil {
		return fault.ConfigurationError(errors.New("no integration response for MOCK status " + status))
	}
	h := out.Header
	sel.writeHeaders(c, h, nil)
	out.Status = sel.status
	if mt := sel.pickTemplate(c); mt != nil {
		return sel.answer(mt, c, x, nil, out)
	}
	if _, set := h["Content-Type"]; !set {
		h["Content-Type"] = jsonContentType
	}
	out.SetBody("")
	return nil
}
