package integration

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/vtl"
)

// maxTemplateInput bounds the body a mapping template reads: API
// Gateway's payload limit.
const maxTemplateInput = 10 << 20

// passthrough is an integration's passthroughBehavior: what happens to a
// request whose content type has no request template.
type passthrough uint8

const (
	whenNoMatch     passthrough = iota // the body goes through as it is
	whenNoTemplates                    // as it is if there are no templates at all, else 415
	never                              // 415
)

func parsePassthrough(s string) passthrough {
	switch s {
	case "WHEN_NO_TEMPLATES":
		return whenNoTemplates
	case "NEVER":
		return never
	}
	return whenNoMatch
}

// mappingTemplate is a request or response template, parsed once per
// deployment. A template that names no variable renders the same text for
// every request: that text is rendered once, here.
type mappingTemplate struct {
	contentType string
	t           *vtl.Template
	static      bool
	text        string
	raw         []byte     // text, shared by every request: read only
	err         error      // the static rendering's error
	mock        mockChoice // MOCK: the static text's statusCode
}

func compileTemplate(what, contentType, src string) (*mappingTemplate, error) {
	t, err := vtl.Parse(what+" template "+contentType, src)
	if err != nil {
		return nil, err
	}
	mt := &mappingTemplate{contentType: contentType, t: t}
	if len(t.Variables()) == 0 {
		out, err := t.Append(nil, vtl.Vars(nil))
		mt.static, mt.text, mt.raw, mt.err = true, string(out), out, err
	}
	return mt, nil
}

// compileTemplates parses a map of templates by content type; the keys
// are lower-cased, as media types compare.
func compileTemplates(what string, m map[string]string) (map[string]*mappingTemplate, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]*mappingTemplate, len(m))
	for _, ct := range sortedKeys(m) {
		mt, err := compileTemplate(what, ct, m[ct])
		if err != nil {
			return nil, err
		}
		out[strings.ToLower(ct)] = mt
	}
	return out, nil
}

// requestContentType is the media type that picks a request template: the
// Content-Type's, without parameters, lower case; application/json when
// the request has none, as on AWS.
func requestContentType(h http.Header) string {
	v := h.Get("Content-Type")
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "application/json"
	}
	return strings.ToLower(v)
}

// requestTemplate picks the request template for c's content type. A nil
// template with a nil error means the body passes through; the
// passthrough behavior may refuse the request with AWS's 415.
func (ig *Integration) requestTemplate(c *Call) (*mappingTemplate, error) {
	if len(ig.templates) == 0 {
		if ig.passthrough == never {
			return nil, fault.ErrUnsupportedMediaType
		}
		return nil, nil
	}
	if mt := ig.templates[requestContentType(c.Header)]; mt != nil {
		return mt, nil
	}
	if ig.passthrough == whenNoMatch {
		return nil, nil
	}
	return nil, fault.ErrUnsupportedMediaType
}

// renderRequest renders the request template mt for c: the backend's body,
// and what $context.requestOverride set (nil when nothing touched it).
// body, when set, is the payload $input reads in place of the client's (a
// converted one).
func renderRequest(mt *mappingTemplate, c *Call, body []byte) ([]byte, *override, error) {
	if mt.static {
		if mt.err != nil {
			return nil, nil, fault.ConfigurationError(mt.err)
		}
		return mt.raw, nil, nil
	}
	v := &templateVars{c: c, body: body, bodyRead: body != nil}
	out, err := mt.t.Append(nil, vtl.NewContext(v))
	if v.bodyErr != nil {
		return nil, nil, bodyReadError(v.bodyErr)
	}
	if err != nil {
		return nil, nil, templateError(err, true)
	}
	return out, v.requestOverride(), nil
}

// templateError is the gateway response for a template that failed: a
// request body that is not JSON is the client's 400, as on AWS; anything
// else is the API's configuration (500), logged with the template's name.
func templateError(err error, request bool) error {
	var be *vtl.BodyError
	if request && errors.As(err, &be) {
		return &fault.Error{Type: fault.BadRequestBody, Status: 400, ErrorType: "BadRequestException", Message: be.Error(), Cause: err}
	}
	return fault.ConfigurationError(err)
}

// renderResponse renders a response template over the endpoint's body,
// with what it set in $context.responseOverride (nil when untouched).
// A response template reads, in $context.requestOverride, what the request
// template set there (writing to it changes nothing).
func renderResponse(mt *mappingTemplate, c *Call, x *Exchange, body []byte) ([]byte, *override, error) {
	if mt.static {
		if mt.err != nil {
			return nil, nil, fault.ConfigurationError(mt.err)
		}
		return mt.raw, nil, nil
	}
	v := &templateVars{c: c, response: true, body: body, bodyRead: true, reqOv: x.reqOverride}
	out, err := mt.t.Append(nil, vtl.NewContext(v))
	if err != nil {
		return nil, nil, templateError(err, false)
	}
	return out, v.responseOverride(), nil
}

// override is what a template set in $context.requestOverride (header,
// querystring, path) or $context.responseOverride (status, header).
type override struct {
	m      *vtl.Map // $context.requestOverride itself, for the response templates
	status int      // 0: none
	header []Field
	query  []Field
	path   []Field
}

// Field is a named value a template set.
type Field struct{ Name, Value string }

// templateVars is what a mapping template reads of a call: vtl.Request over
// the client's request (and, for a response template, the endpoint's
// body).
type templateVars struct {
	c        *Call
	response bool
	body     []byte
	bodyRead bool
	bodyErr  error
	reqOv    *vtl.Map
	respOv   *vtl.Map
}

var (
	_ vtl.Request     = (*templateVars)(nil)
	_ vtl.ParamFinder = (*templateVars)(nil)
)

func (v *templateVars) Body() []byte {
	if !v.bodyRead {
		v.bodyRead = true
		if v.c.ContentLength != 0 {
			v.body, v.bodyErr = readLimited(v.c.Body)
		}
	}
	return v.body
}

func (v *templateVars) Params(kind string) []vtl.Param {
	c := v.c
	var ps []vtl.Param
	switch kind {
	case "path":
		if c.Params != nil {
			for name, val := range c.Params.All() {
				ps = append(ps, vtl.Param{Name: name, Value: val})
			}
		}
	case "querystring":
		q := c.Query()
		for _, k := range sortedKeys(q) {
			ps = append(ps, vtl.Param{Name: k, Value: lastValue(q[k])})
		}
	case "header":
		for _, k := range sortedKeys(c.Header) {
			name := k
			if n, ok := c.HeaderNames[k]; ok {
				name = n
			}
			ps = append(ps, vtl.Param{Name: name, Value: lastValue(c.Header[k])})
		}
	}
	return ps
}

// FindParam implements vtl.ParamFinder.
func (v *templateVars) FindParam(name string) (string, bool) {
	c := v.c
	if c.Params != nil {
		if val, ok := c.Params.Get(name); ok {
			return val, true
		}
	}
	if vs := c.queryValues(name); len(vs) > 0 {
		return lastValue(vs), true
	}
	if vs := c.Header.Values(name); len(vs) > 0 {
		return lastValue(vs), true
	}
	return "", false
}

func (v *templateVars) StageVariables() []vtl.Param {
	ps := make([]vtl.Param, 0, len(v.c.StageVars))
	for _, k := range sortedKeys(v.c.StageVars) {
		ps = append(ps, vtl.Param{Name: k, Value: v.c.StageVars[k]})
	}
	return ps
}

// identityNames are $context.identity's variables.
var identityNames = [...]string{"accessKey", "accountId", "apiKey", "apiKeyId", "caller", "sourceIp", "user", "userAgent", "userArn", "vpceId",
	"cognitoAuthenticationProvider", "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId"}

func (v *templateVars) ContextValue(name string) (vtl.Value, bool) {
	c := v.c
	switch name {
	case "requestOverride":
		if v.reqOv == nil {
			v.reqOv = vtl.NewMap(3)
			for _, k := range [...]string{"header", "querystring", "path"} {
				v.reqOv.Put(vtl.String(k), vtl.MapValue(vtl.NewMap(0)))
			}
		}
		return vtl.MapValue(v.reqOv), true
	case "responseOverride":
		if !v.response {
			return vtl.Null, false
		}
		if v.respOv == nil {
			v.respOv = vtl.NewMap(2)
			v.respOv.Put(vtl.String("header"), vtl.MapValue(vtl.NewMap(0)))
		}
		return vtl.MapValue(v.respOv), true
	case "identity":
		m := vtl.NewMap(len(identityNames) + 1)
		for _, n := range identityNames {
			m.Put(vtl.String(n), vtl.String(c.identityValue(n)))
		}
		if cc := c.ClientCert; cc != nil {
			validity := vtl.NewMap(2)
			validity.Put(vtl.String("notBefore"), vtl.String(cc.notBefore()))
			validity.Put(vtl.String("notAfter"), vtl.String(cc.notAfter()))
			cm := vtl.NewMap(5)
			cm.Put(vtl.String("clientCertPem"), vtl.String(cc.PEM))
			cm.Put(vtl.String("subjectDN"), vtl.String(cc.SubjectDN))
			cm.Put(vtl.String("issuerDN"), vtl.String(cc.IssuerDN))
			cm.Put(vtl.String("serialNumber"), vtl.String(cc.SerialNumber))
			cm.Put(vtl.String("validity"), vtl.MapValue(validity))
			m.Put(vtl.String("clientCert"), vtl.MapValue(cm))
		}
		return vtl.MapValue(m), true
	case "authorizer":
		a := c.Authorizer
		if a == nil {
			return vtl.Null, false
		}
		m := vtl.NewMap(len(a.Context) + 1)
		m.Put(vtl.String("principalId"), vtl.String(a.PrincipalID))
		for _, k := range sortedKeys(a.Context) {
			m.Put(vtl.String(k), vtl.String(fmt.Sprint(a.Context[k])))
		}
		return vtl.MapValue(m), true
	case "requestTime":
		return vtl.String(c.requestTime().Format(requestTimeLayout)), true
	case "requestTimeEpoch":
		return vtl.Long(c.requestTime().UnixMilli()), true
	case "deploymentId":
		return vtl.String(c.DeploymentID), true
	case "isCanaryRequest":
		return vtl.Bool(c.IsCanary), true
	case "requestId", "extendedRequestId", "apiId", "accountId", "stage", "resourceId", "resourcePath", "httpMethod",
		"path", "protocol", "domainName", "domainPrefix":
		return vtl.String(c.ContextValue(name)), true
	}
	return vtl.Null, false
}

func (c *Call) requestTime() time.Time {
	if c.RequestTime.IsZero() {
		return time.Now()
	}
	return c.RequestTime
}

func (c *Call) identityValue(name string) string {
	if c.Caller != nil {
		switch name {
		case "cognitoAuthenticationProvider":
			return c.Caller.CognitoAuthenticationProvider
		case "cognitoAuthenticationType":
			return c.Caller.CognitoAuthenticationType
		case "cognitoIdentityId":
			return c.Caller.CognitoIdentityID
		case "cognitoIdentityPoolId":
			return c.Caller.CognitoIdentityPoolID
		case "principalOrgId":
			return c.Caller.PrincipalOrgID
		}
	}
	return c.ContextValue("identity." + name)
}

// requestOverride reads $context.requestOverride after a rendering.
func (v *templateVars) requestOverride() *override {
	if v.reqOv == nil {
		return nil
	}
	o := &override{
		m:      v.reqOv,
		header: overrideFields(v.reqOv, "header"),
		query:  overrideFields(v.reqOv, "querystring"),
		path:   overrideFields(v.reqOv, "path"),
	}
	if o.header == nil && o.query == nil && o.path == nil {
		return nil
	}
	return o
}

// responseOverride reads $context.responseOverride after a rendering. A
// status that is not an integer from 100 to 599 is ignored, as on AWS.
func (v *templateVars) responseOverride() *override {
	if v.respOv == nil {
		return nil
	}
	o := &override{header: overrideFields(v.respOv, "header")}
	if s, ok := v.respOv.GetString("status"); ok {
		n, isInt := s.Integer()
		if !isInt {
			if str, isStr := s.Str(); isStr {
				m, err := strconv.Atoi(strings.TrimSpace(str))
				n, isInt = int64(m), err == nil
			}
		}
		if isInt && n >= 100 && n <= 599 {
			o.status = int(n)
		}
	}
	if o.status == 0 && o.header == nil {
		return nil
	}
	return o
}

func overrideFields(m *vtl.Map, key string) []Field {
	v, _ := m.GetString(key)
	sub := v.Map()
	if sub == nil || sub.Len() == 0 {
		return nil
	}
	var fs []Field
	sub.Range(func(k, val vtl.Value) bool {
		if !val.IsNull() {
			fs = append(fs, Field{k.Text(), val.Text()})
		}
		return true
	})
	return fs
}

// bodyReadError is the answer to a client's body that could not be read:
// 413 past the payload limit.
func bodyReadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fault.ErrRequestTooLarge
	}
	return fault.IntegrationFailureErr(err)
}

// readLimited reads an endpoint's or a client's body whole, for a template or
// a MOCK's statusCode, within API Gateway's payload limit.
func readLimited(r io.Reader) ([]byte, error) {
	if r == nil || r == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, maxTemplateInput+1))
	if err == nil && len(b) > maxTemplateInput {
		err = &http.MaxBytesError{Limit: maxTemplateInput}
	}
	return b, err
}

// mapsRequests reports the integration types that map requests with
// templates and contentHandling; proxies pass requests through.
func mapsRequests(typ string) bool { return typ == "HTTP" || typ == "MOCK" || typ == "AWS" }

// compileRequestTemplates sets ig's request templates for the types that
// map requests (HTTP, MOCK, AWS); proxies pass requests through and have
// none.
func (ig *Integration) compileRequestTemplates(in *model.Integration) error {
	ig.passthrough = parsePassthrough(in.PassthroughBehavior)
	if !mapsRequests(in.Type) {
		ig.passthrough = whenNoMatch
		return nil
	}
	var err error
	ig.templates, err = compileTemplates("integration request", in.RequestTemplates)
	if err != nil {
		return err
	}
	if in.Type == "MOCK" {
		for _, mt := range ig.templates {
			if mt.static && mt.err == nil {
				mt.mock.status, mt.mock.err = mockStatus(mt.text)
			}
		}
	}
	return nil
}
