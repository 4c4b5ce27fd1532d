package gateway

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/reftmpl"
	"github.com/apigw/apigw/internal/vtl"
)

// TemplateCompiler compiles a gateway response template, once per
// deployment. The built-in one is the Velocity engine of mapping
// templates (internal/vtl) over the response's $context and
// $stageVariables.
type TemplateCompiler func(src string) (ResponseTemplate, error)

// ResponseTemplate renders a gateway response body onto dst.
type ResponseTemplate interface {
	Append(dst []byte, v reftmpl.Vars) []byte
}

func compileVTLTemplate(src string) (ResponseTemplate, error) {
	t, err := vtl.Parse("gateway response template", src)
	if err != nil {
		return nil, err
	}
	return vtlTemplate{t}, nil
}

// vtlTemplate renders a gateway response template with the Velocity
// engine; a rendering that fails (a method that throws, a limit) leaves
// the body empty.
type vtlTemplate struct{ t *vtl.Template }

func (t vtlTemplate) Append(dst []byte, v reftmpl.Vars) []byte {
	out, err := t.t.Append(dst, vtl.DottedVars(v))
	if err != nil {
		return dst
	}
	return out
}

// responseTable is an API's gateway responses compiled for one deployment,
// indexed by fault.Type.Index, the DEFAULT_4XX/5XX fallbacks resolved. A
// nil entry is AWS's default answer (fault.Write); a deployment without
// customised responses has no table at all.
type responseTable [fault.NumTypes]*gatewayResponse

// gatewayResponse is one compiled answer.
type gatewayResponse struct {
	// status replaces the error's own; 0 keeps it.
	status  int
	headers []responseHeader
	// bodies are the templates by content type, sorted; json is the index
	// of application/json's, or -1.
	bodies []responseBody
	json   int
}

type responseHeader struct {
	name string // canonical
	src  integration.RequestSource
	// errVar is the context.error.* variable mapped, when it is one.
	errVar string
}

type responseBody struct {
	contentType string
	tmpl        ResponseTemplate
}

// compileResponses builds the table of a snapshot's gateway responses, as
// AWS documents the fallbacks: a type customised itself answers with its
// own status, headers and templates; any other type answers with those of
// DEFAULT_4XX or DEFAULT_5XX, by the class of its default status, when that
// one is customised, and with DEFAULT_*'s status code when it has one (a
// status code on DEFAULT_4XX "changes the status codes of all other 4XX
// responses"); a type neither covers keeps AWS's default.
func (g *Gateway) compileResponses(snap *model.Snapshot) *responseTable {
	if len(snap.GatewayResponses) == 0 {
		return nil
	}
	compileTmpl := g.ResponseTemplates
	if compileTmpl == nil {
		compileTmpl = compileVTLTemplate
	}
	var custom [fault.NumTypes]*gatewayResponse
	for _, gr := range snap.GatewayResponses {
		i := fault.Type(gr.ResponseType).Index()
		if i < 0 {
			continue
		}
		custom[i] = g.compileResponse(snap, gr, compileTmpl)
	}
	t := new(responseTable)
	d4, d5 := custom[fault.Default4XX.Index()], custom[fault.Default5XX.Index()]
	for i, d := range fault.Types {
		switch {
		case custom[i] != nil:
			t[i] = custom[i]
		case d.Status == "":
			// DEFAULT_4XX or DEFAULT_5XX, not customised.
		case d.Status[0] == '4':
			t[i] = d4
		default:
			t[i] = d5
		}
	}
	return t
}

func (g *Gateway) compileResponse(snap *model.Snapshot, gr *model.GatewayResponse, compileTmpl TemplateCompiler) *gatewayResponse {
	c := &gatewayResponse{json: -1}
	if n, err := strconv.Atoi(gr.StatusCode); err == nil && n >= 100 && n <= 599 {
		c.status = n
	}
	for _, k := range sortedKeys(gr.ResponseParameters) {
		name, ok := strings.CutPrefix(k, "gatewayresponse.header.")
		if !ok || name == "" {
			g.log().Warn("gateway response parameter ignored", "api", snap.Api.ID, "deployment", snap.DeploymentID, "type", gr.ResponseType, "parameter", k)
			continue
		}
		expr := gr.ResponseParameters[k]
		h := responseHeader{name: http.CanonicalHeaderKey(name)}
		if v, ok := strings.CutPrefix(expr, "context.error."); ok {
			h.errVar = v
		} else if src, err := integration.ParseRequestSource(expr); err == nil {
			h.src = src
		} else {
			g.log().Warn("gateway response parameter ignored", "api", snap.Api.ID, "deployment", snap.DeploymentID, "type", gr.ResponseType, "parameter", k, "err", err)
			continue
		}
		c.headers = append(c.headers, h)
	}
	for _, ct := range sortedKeys(gr.ResponseTemplates) {
		tmpl, err := compileTmpl(gr.ResponseTemplates[ct])
		if err != nil {
			g.log().Warn("gateway response template ignored", "api", snap.Api.ID, "deployment", snap.DeploymentID, "type", gr.ResponseType, "contentType", ct, "err", err)
			continue
		}
		if ct == "application/json" {
			c.json = len(c.bodies)
		}
		c.bodies = append(c.bodies, responseBody{ct, tmpl})
	}
	return c
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// pick returns the template for the client's Accept header, as integration
// responses choose: the first media type that has one, else
// application/json's, else the first by content type; nil when there is
// none.
func (c *gatewayResponse) pick(accept string) *responseBody {
	if len(c.bodies) == 0 {
		return nil
	}
	for accept != "" {
		var part string
		part, accept, _ = strings.Cut(accept, ",")
		ct, _, _ := strings.Cut(part, ";")
		ct = strings.TrimSpace(ct)
		for i := range c.bodies {
			if c.bodies[i].contentType == ct {
				return &c.bodies[i]
			}
		}
	}
	if c.json >= 0 {
		return &c.bodies[c.json]
	}
	return &c.bodies[0]
}

// responseVars are the variables of a gateway response: the error's
// $context.error.*, the request's $context.* and $stageVariables.*.
// Unknown names under context and stageVariables render empty, as on AWS.
type responseVars struct {
	rq *request
	e  *fault.Error
}

func (v *responseVars) Var(name string) (string, bool) {
	if n, ok := strings.CutPrefix(name, "context."); ok {
		if ev, ok := strings.CutPrefix(n, "error."); ok {
			return v.errorVar(ev), true
		}
		return v.rq.ContextValue(n), true
	}
	if n, ok := strings.CutPrefix(name, "stageVariables."); ok {
		return v.rq.StageVars[n], true
	}
	return "", false
}

func (v *responseVars) errorVar(name string) string {
	switch name {
	case "message":
		return v.e.Message
	case "messageString":
		return v.e.MessageString()
	case "responseType":
		return string(v.e.Type)
	case "validationErrorString":
		return v.e.ValidationError
	}
	return ""
}

// renderResponse writes e as the compiled gateway response c.
func renderResponse(w http.ResponseWriter, rq *request, e *fault.Error, c *gatewayResponse) int {
	vars := &responseVars{rq: rq, e: e}
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	contentType := "application/json"
	var body []byte
	if b := c.pick(rq.Header.Get("Accept")); b != nil {
		contentType = b.contentType
		body = b.tmpl.Append(make([]byte, 0, 64+len(e.Message)), vars)
	}
	h.Set("Content-Type", contentType)
	h.Set("x-amzn-ErrorType", e.ErrorType)
	for _, hd := range c.headers {
		if hd.errVar != "" {
			if s := vars.errorVar(hd.errVar); s != "" {
				h[hd.name] = []string{s}
			}
		} else if vs := hd.src.Values(&rq.Call); len(vs) > 0 {
			h[hd.name] = vs
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	status := e.Status
	if c.status != 0 {
		status = c.status
	}
	w.WriteHeader(status)
	w.Write(body)
	return status
}
