package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/schema"
)

// requestCheck is a method's request validator, compiled with the
// deployment: the required parameters and the models of the body by media
// type. A method without a validator has none, and validate costs it
// nothing.
type requestCheck struct {
	params []requiredParam // in the order of their expressions
	// bodies holds the models by lower-case media type, and "$default".
	bodies map[string]*schema.Schema
	// err is set when a model could not be compiled: the method then
	// answers with a configuration error.
	err error
}

// requiredParam is one method.request.{loc}.{name} marked required.
type requiredParam struct {
	loc  string // path, querystring, header, multivaluequerystring, multivalueheader
	name string
}

// compileCheck builds the request check of a method, or nil when its
// validator checks nothing. models is built on first use.
func compileCheck(m *model.Method, validators map[string]*model.RequestValidator, models func() *schema.Set) *requestCheck {
	v := validators[m.RequestValidatorID]
	if v == nil {
		return nil
	}
	c := &requestCheck{}
	if v.ValidateRequestParameters {
		exprs := make([]string, 0, len(m.RequestParameters))
		for expr, required := range m.RequestParameters {
			if required {
				exprs = append(exprs, expr)
			}
		}
		sort.Strings(exprs)
		for _, expr := range exprs {
			loc, name, ok := strings.Cut(strings.TrimPrefix(expr, "method.request."), ".")
			if ok && name != "" {
				c.params = append(c.params, requiredParam{loc, name})
			}
		}
	}
	if v.ValidateRequestBody && len(m.RequestModels) > 0 {
		c.bodies = make(map[string]*schema.Schema, len(m.RequestModels))
		set := models()
		for ct, name := range m.RequestModels {
			sc, err := set.Compile(name)
			if err != nil {
				c.err = fmt.Errorf("request model %s: %w", name, err)
				break
			}
			c.bodies[strings.ToLower(ct)] = sc
		}
	}
	if c.params == nil && c.bodies == nil && c.err == nil {
		return nil
	}
	return c
}

// run checks rq: its required parameters (400 BAD_REQUEST_PARAMETERS), then
// its body against the model of its content type (400 BAD_REQUEST_BODY).
func (c *requestCheck) run(rq *request) error {
	if c.err != nil {
		return fault.ConfigurationError(c.err)
	}
	var missing []string
	for _, p := range c.params {
		if !rq.hasParam(p) {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		msg := "Missing required request parameters: [" + strings.Join(missing, ", ") + "]"
		return &fault.Error{Type: fault.BadRequestParameters, Status: http.StatusBadRequest, ErrorType: "BadRequestException",
			Message: msg, ValidationError: msg}
	}
	if c.bodies == nil {
		return nil
	}
	sc := c.bodies[mediaType(rq.Header.Get("Content-Type"))]
	if sc == nil {
		if sc = c.bodies["$default"]; sc == nil {
			// No model for this content type: the body is not checked.
			return nil
		}
	}
	body, err := rq.readBody()
	if err != nil {
		return err
	}
	if complaint := sc.Validate(body); complaint != "" {
		return &fault.Error{Type: fault.BadRequestBody, Status: http.StatusBadRequest, ErrorType: "BadRequestException",
			Message: "Invalid request body", ValidationError: complaint}
	}
	return nil
}

// hasParam reports whether the request carries p, not blank.
func (rq *request) hasParam(p requiredParam) bool {
	switch p.loc {
	case "path":
		v, ok := rq.params.Get(p.name)
		return ok && v != ""
	case "querystring", "multivaluequerystring":
		return nonBlank(rq.Query()[p.name])
	case "header", "multivalueheader":
		return nonBlank(rq.Header.Values(p.name))
	}
	return true
}

func nonBlank(vs []string) bool {
	for _, v := range vs {
		if v != "" {
			return true
		}
	}
	return false
}

// mediaType is the lower-case media type of a Content-Type, without its
// parameters; none means application/json, as on API Gateway.
func mediaType(ct string) string {
	if ct == "" {
		return "application/json"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt
}

// readBody reads the client's body whole, within the payload limit, and
// puts it back for the integration.
func (rq *request) readBody() ([]byte, error) {
	if rq.Body == nil || rq.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(rq.Body, MaxPayloadBytes+1))
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb) || len(b) > MaxPayloadBytes:
		return nil, fault.ErrRequestTooLarge
	case err != nil:
		return nil, fault.IntegrationFailureErr(fmt.Errorf("read request body: %w", err))
	}
	rq.Body, rq.ContentLength = bytes.NewReader(b), int64(len(b))
	return b, nil
}
