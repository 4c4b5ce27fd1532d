package control

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

var httpMethods = map[string]bool{"GET": true, "PUT": true, "POST": true, "DELETE": true, "PATCH": true, "OPTIONS": true, "HEAD": true, "ANY": true}

var statusCodeRE = regexp.MustCompile(`^[1-5][0-9][0-9]$`)

func methodName(r *http.Request) (string, error) {
	m := r.PathValue("method")
	if !httpMethods[m] {
		return "", badRequest("Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY")
	}
	return m, nil
}

func validateMethod(m *model.Method) error {
	switch m.AuthorizationType {
	case "NONE", "AWS_IAM":
	case "CUSTOM", "COGNITO_USER_POOLS":
		if m.AuthorizerID == "" {
			return badRequest("Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.")
		}
	case "":
		return badRequest("Invalid authorization type specified. Valid values are NONE, AWS_IAM, CUSTOM and COGNITO_USER_POOLS")
	default:
		return badRequest("Invalid authorization type specified: %s. Valid values are NONE, AWS_IAM, CUSTOM and COGNITO_USER_POOLS", m.AuthorizationType)
	}
	for p := range m.RequestParameters {
		if !validMethodRequestParam(p) {
			return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid method request parameter name specified: %s]", p)
		}
	}
	return nil
}

// validMethodRequestParam accepts method.request.{path|querystring|header|multivaluequerystring|multivalueheader}.{name}.
func validMethodRequestParam(p string) bool {
	rest, ok := strings.CutPrefix(p, "method.request.")
	if !ok {
		return false
	}
	loc, name, ok := strings.Cut(rest, ".")
	if !ok || name == "" {
		return false
	}
	switch loc {
	case "path", "querystring", "header", "multivaluequerystring", "multivalueheader":
		return true
	}
	return false
}

func findMethod(res *model.Resource, name string) (*model.Method, error) {
	m := res.ResourceMethods[name]
	if m == nil {
		return nil, errNoMethod
	}
	return m, nil
}

func (a *API) putMethod(r *http.Request, body []byte) (int, any, error) {
	name, err := methodName(r)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		AuthorizationType   string            `json:"authorizationType"`
		AuthorizerID        string            `json:"authorizerId"`
		ApiKeyRequired      bool              `json:"apiKeyRequired"`
		OperationName       string            `json:"operationName"`
		RequestParameters   map[string]bool   `json:"requestParameters"`
		RequestModels       map[string]string `json:"requestModels"`
		RequestValidatorID  string            `json:"requestValidatorId"`
		AuthorizationScopes []string          `json:"authorizationScopes"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	m := &model.Method{
		HTTPMethod:          name,
		AuthorizationType:   in.AuthorizationType,
		AuthorizerID:        in.AuthorizerID,
		ApiKeyRequired:      in.ApiKeyRequired,
		OperationName:       in.OperationName,
		RequestParameters:   in.RequestParameters,
		RequestModels:       in.RequestModels,
		RequestValidatorID:  in.RequestValidatorID,
		AuthorizationScopes: in.AuthorizationScopes,
	}
	if err := validateMethod(m); err != nil {
		return 0, nil, err
	}
	out, err := a.editResourceTx(r, func(tx store.Tx, res *model.Resource) (any, error) {
		if res.ResourceMethods[name] != nil {
			return nil, conflict("Method already exists for this resource")
		}
		if err := a.checkMethodRefs(r.Context(), tx, r.PathValue("api"), m); err != nil {
			return nil, err
		}
		if res.ResourceMethods == nil {
			res.ResourceMethods = map[string]*model.Method{}
		}
		res.ResourceMethods[name] = m
		return m, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, out, nil
}

func (a *API) getMethod(r *http.Request, _ []byte) (int, any, error) {
	name, err := methodName(r)
	if err != nil {
		return 0, nil, err
	}
	res, err := a.loadResource(r.Context(), a.Store, r.PathValue("api"), r.PathValue("res"))
	if err != nil {
		return 0, nil, err
	}
	m, err := findMethod(res, name)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, m, nil
}

func (a *API) updateMethod(r *http.Request, body []byte) (int, any, error) {
	name, err := methodName(r)
	if err != nil {
		return 0, nil, err
	}
	ops, err := ParsePatch(body, "updateMethodInput")
	if err != nil {
		return 0, nil, err
	}
	out, err := a.editResourceTx(r, func(tx store.Tx, res *model.Resource) (any, error) {
		m, err := findMethod(res, name)
		if err != nil {
			return nil, err
		}
		if err := applyOps(ops, m, patchMethod); err != nil {
			return nil, err
		}
		if err := validateMethod(m); err != nil {
			return nil, err
		}
		return m, a.checkMethodRefs(r.Context(), tx, r.PathValue("api"), m)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func patchMethod(m *model.Method, op PatchOp) error {
	s := op.Segs
	if len(s) == 1 {
		// A method's single-valued fields take replace only.
		var dst *string
		switch s[0] {
		case "authorizationType":
			dst = &m.AuthorizationType
		case "authorizerId":
			dst = &m.AuthorizerID
		case "operationName":
			dst = &m.OperationName
		case "requestValidatorId":
			dst = &m.RequestValidatorID
		case "apiKeyRequired":
			if op.Op != "replace" {
				return errReplaceOnly
			}
			// AWS reads anything but "true" as false.
			m.ApiKeyRequired = strings.EqualFold(op.value(), "true")
			return nil
		default:
			return errPatchPath(op)
		}
		if op.Op != "replace" {
			return errReplaceOnly
		}
		*dst = op.value()
		return nil
	}
	if len(s) == 2 {
		switch s[0] {
		case "requestParameters":
			return patchBoolMap(op, &m.RequestParameters, s[1])
		case "requestModels":
			return patchMap(op, &m.RequestModels, s[1])
		case "authorizationScopes":
			return patchList(op, &m.AuthorizationScopes, s[1])
		}
	}
	return errPatchPath(op)
}

func (a *API) deleteMethod(r *http.Request, _ []byte) (int, any, error) {
	name, err := methodName(r)
	if err != nil {
		return 0, nil, err
	}
	_, err = a.editResource(r, func(res *model.Resource) (any, error) {
		if _, err := findMethod(res, name); err != nil {
			return nil, err
		}
		delete(res.ResourceMethods, name)
		return nil, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// editMethod runs fn on the method named in the request path.
func (a *API) editMethod(r *http.Request, fn func(m *model.Method) (any, error)) (any, error) {
	name, err := methodName(r)
	if err != nil {
		return nil, err
	}
	return a.editResource(r, func(res *model.Resource) (any, error) {
		m, err := findMethod(res, name)
		if err != nil {
			return nil, err
		}
		return fn(m)
	})
}

func (a *API) readMethod(r *http.Request) (*model.Method, error) {
	name, err := methodName(r)
	if err != nil {
		return nil, err
	}
	res, err := a.loadResource(r.Context(), a.Store, r.PathValue("api"), r.PathValue("res"))
	if err != nil {
		return nil, err
	}
	return findMethod(res, name)
}

// statusCodeViolation is AWS's constraint violation text for a status code
// in the request path that is not [1-5]\d\d, or "" when it is fine.
func statusCodeViolation(r *http.Request) string {
	s := r.PathValue("status")
	if statusCodeRE.MatchString(s) {
		return ""
	}
	return fmt.Sprintf(`Value '%s' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\d\d`, s)
}

func statusCode(r *http.Request) (string, error) {
	if v := statusCodeViolation(r); v != "" {
		return "", validationErrors([]string{v})
	}
	return r.PathValue("status"), nil
}

// parseResponsePatch parses the PATCH body of a method or integration
// response; a bad status code is reported with bad ops.
func parseResponsePatch(r *http.Request, body []byte, input string) ([]PatchOp, error) {
	if v := statusCodeViolation(r); v != "" {
		return parsePatch(body, input, v)
	}
	return parsePatch(body, input)
}

// Method responses.

func (a *API) putMethodResponse(r *http.Request, body []byte) (int, any, error) {
	code, err := statusCode(r)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		ResponseParameters map[string]bool   `json:"responseParameters"`
		ResponseModels     map[string]string `json:"responseModels"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	mr := &model.MethodResponse{StatusCode: code, ResponseParameters: in.ResponseParameters, ResponseModels: in.ResponseModels}
	if err := validateResponseParams(mr.ResponseParameters); err != nil {
		return 0, nil, err
	}
	out, err := a.editMethod(r, func(m *model.Method) (any, error) {
		if m.MethodResponses == nil {
			m.MethodResponses = map[string]*model.MethodResponse{}
		}
		m.MethodResponses[code] = mr
		return mr, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, out, nil
}

func validateResponseParams(p map[string]bool) error {
	for k := range p {
		if !strings.HasPrefix(k, "method.response.header.") || len(k) == len("method.response.header.") {
			return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid response parameter name specified: %s]", k)
		}
	}
	return nil
}

func (a *API) getMethodResponse(r *http.Request, _ []byte) (int, any, error) {
	if _, err := statusCode(r); err != nil {
		return 0, nil, err
	}
	m, err := a.readMethod(r)
	if err != nil {
		return 0, nil, err
	}
	mr := m.MethodResponses[r.PathValue("status")]
	if mr == nil {
		return 0, nil, errNoMethodResponse
	}
	return http.StatusOK, mr, nil
}

func (a *API) updateMethodResponse(r *http.Request, body []byte) (int, any, error) {
	ops, err := parseResponsePatch(r, body, "updateMethodResponseInput")
	if err != nil {
		return 0, nil, err
	}
	out, err := a.editMethod(r, func(m *model.Method) (any, error) {
		mr := m.MethodResponses[r.PathValue("status")]
		if mr == nil {
			return nil, errNoMethodResponse
		}
		for _, op := range ops {
			var err error
			switch {
			case len(op.Segs) == 2 && op.Segs[0] == "responseParameters":
				err = patchBoolMap(op, &mr.ResponseParameters, op.Segs[1])
			case len(op.Segs) == 2 && op.Segs[0] == "responseModels":
				err = patchMap(op, &mr.ResponseModels, op.Segs[1])
			default:
				err = errPatchPath(op)
			}
			if err != nil {
				return nil, err
			}
		}
		return mr, validateResponseParams(mr.ResponseParameters)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (a *API) deleteMethodResponse(r *http.Request, _ []byte) (int, any, error) {
	if _, err := statusCode(r); err != nil {
		return 0, nil, err
	}
	_, err := a.editMethod(r, func(m *model.Method) (any, error) {
		code := r.PathValue("status")
		if m.MethodResponses[code] == nil {
			return nil, errNoMethodResponse
		}
		delete(m.MethodResponses, code)
		return nil, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// Integrations.

var integrationTypes = map[string]bool{"HTTP": true, "HTTP_PROXY": true, "MOCK": true, "AWS": true, "AWS_PROXY": true}

func validateIntegration(in *model.Integration) error {
	if !integrationTypes[in.Type] {
		if in.Type == "" {
			return badRequest("Enumeration value for IntegrationType must be non-empty")
		}
		return validation("1 validation error detected: Value '%s' at 'putIntegrationInput.type' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, MOCK, AWS_PROXY, HTTP_PROXY, AWS]", in.Type)
	}
	if in.Type != "MOCK" {
		if in.HTTPMethod == "" {
			return badRequest("Enumeration value for HttpMethod must be non-empty")
		}
		if !httpMethods[in.HTTPMethod] {
			return badRequest("Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY")
		}
	}
	switch in.Type {
	case "HTTP", "HTTP_PROXY":
		if !validHTTPURI(in.URI) {
			return badRequest("Invalid HTTP endpoint specified for URI")
		}
	case "AWS", "AWS_PROXY":
		if !strings.HasPrefix(in.URI, "arn:") {
			return badRequest("AWS ARN for integration must contain path or action")
		}
		if _, err := integration.ParseAWSURI(in.URI); in.Type == "AWS" && err != nil {
			return badRequest("AWS ARN for integration must contain path or action")
		}
	}
	switch in.ConnectionType {
	case "", "INTERNET":
	case "VPC_LINK":
		// The link itself is checked by checkVpcLink, against the store; a
		// stage variable names it at call time.
		if in.ConnectionID == "" {
			return errNoVpcLink
		}
	default:
		return validation("1 validation error detected: Value '%s' at 'putIntegrationInput.connectionType' failed to satisfy constraint: Member must satisfy enum value set: [INTERNET, VPC_LINK]", in.ConnectionType)
	}
	if in.TimeoutInMillis < 50 || in.TimeoutInMillis > 29000 {
		return badRequest("Timeout should be between 50 ms and 29000 ms")
	}
	switch in.PassthroughBehavior {
	case "WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER":
	default:
		return badRequest("Invalid passthrough behavior specified: %s. Valid values are WHEN_NO_MATCH, WHEN_NO_TEMPLATES and NEVER", in.PassthroughBehavior)
	}
	switch in.ContentHandling {
	case "", "CONVERT_TO_BINARY", "CONVERT_TO_TEXT":
	default:
		return badRequest("Invalid content handling specified: %s", in.ContentHandling)
	}
	if bad, ok := integration.CheckRequestMappings(in.RequestParameters); !ok {
		return errMappingExpression(bad)
	}
	return nil
}

// errMappingExpression is AWS's answer to a parameter mapping the gateway
// could not evaluate.
func errMappingExpression(expr string) error {
	return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: %s]", expr)
}

// validateIntegrationResponse checks what an integration response maps.
func validateIntegrationResponse(ir *model.IntegrationResponse) error {
	if bad, ok := integration.CheckResponseMappings(ir.ResponseParameters); !ok {
		return errMappingExpression(bad)
	}
	return nil
}

// validHTTPURI accepts an absolute http(s) URL; stage variables may stand
// for any part of it.
func validHTTPURI(s string) bool {
	if strings.Contains(s, "${stageVariables.") {
		return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "${stageVariables.")
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (a *API) putIntegration(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		Type                 string            `json:"type"`
		HTTPMethod           string            `json:"httpMethod"`
		URI                  string            `json:"uri"`
		ConnectionType       string            `json:"connectionType"`
		ConnectionID         string            `json:"connectionId"`
		Credentials          string            `json:"credentials"`
		RequestParameters    map[string]string `json:"requestParameters"`
		RequestTemplates     map[string]string `json:"requestTemplates"`
		PassthroughBehavior  string            `json:"passthroughBehavior"`
		CacheNamespace       string            `json:"cacheNamespace"`
		CacheKeyParameters   []string          `json:"cacheKeyParameters"`
		ContentHandling      string            `json:"contentHandling"`
		TimeoutInMillis      *int64            `json:"timeoutInMillis"`
		TLSConfig            *model.TLSConfig  `json:"tlsConfig"`
		IntegrationTarget    string            `json:"integrationTarget"`
		ResponseTransferMode string            `json:"responseTransferMode"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	integ := &model.Integration{
		Type:                 in.Type,
		HTTPMethod:           in.HTTPMethod,
		URI:                  in.URI,
		ConnectionType:       in.ConnectionType,
		ConnectionID:         in.ConnectionID,
		Credentials:          in.Credentials,
		RequestParameters:    in.RequestParameters,
		RequestTemplates:     in.RequestTemplates,
		PassthroughBehavior:  in.PassthroughBehavior,
		CacheNamespace:       in.CacheNamespace,
		CacheKeyParameters:   in.CacheKeyParameters,
		ContentHandling:      in.ContentHandling,
		TimeoutInMillis:      29000,
		TLSConfig:            in.TLSConfig,
		IntegrationTarget:    in.IntegrationTarget,
		ResponseTransferMode: in.ResponseTransferMode,
	}
	if in.TimeoutInMillis != nil {
		integ.TimeoutInMillis = *in.TimeoutInMillis
	}
	integ.FillDefaults()
	if integ.CacheNamespace == "" {
		integ.CacheNamespace = r.PathValue("res")
	}
	if err := validateIntegration(integ); err != nil {
		return 0, nil, err
	}
	if err := checkVpcLink(r.Context(), a.Store, integ); err != nil {
		return 0, nil, err
	}
	out, err := a.editMethod(r, func(m *model.Method) (any, error) {
		// Replacing an integration keeps its integration responses, as AWS does.
		if old := m.MethodIntegration; old != nil {
			integ.IntegrationResponses = old.IntegrationResponses
		}
		m.MethodIntegration = integ
		return integ, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, out, nil
}

func (a *API) getIntegration(r *http.Request, _ []byte) (int, any, error) {
	m, err := a.readMethod(r)
	if err != nil {
		return 0, nil, err
	}
	if m.MethodIntegration == nil {
		return 0, nil, errNoIntegration
	}
	return http.StatusOK, m.MethodIntegration, nil
}

func (a *API) updateIntegration(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateIntegrationInput")
	if err != nil {
		return 0, nil, err
	}
	out, err := a.editMethod(r, func(m *model.Method) (any, error) {
		in := m.MethodIntegration
		if in == nil {
			return nil, errNoIntegration
		}
		if err := applyOps(ops, in, patchIntegration); err != nil {
			return nil, err
		}
		if err := validateIntegration(in); err != nil {
			return nil, err
		}
		return in, checkVpcLink(r.Context(), a.Store, in)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func patchIntegration(in *model.Integration, op PatchOp) error {
	s := op.Segs
	if len(s) == 1 {
		switch s[0] {
		case "type":
			return patchString(op, &in.Type)
		case "httpMethod":
			return patchString(op, &in.HTTPMethod)
		case "uri":
			return patchString(op, &in.URI)
		case "connectionType":
			return patchString(op, &in.ConnectionType)
		case "connectionId":
			return patchString(op, &in.ConnectionID)
		case "credentials":
			return patchString(op, &in.Credentials)
		case "passthroughBehavior":
			return patchString(op, &in.PassthroughBehavior)
		case "contentHandling":
			return patchString(op, &in.ContentHandling)
		case "cacheNamespace":
			return patchString(op, &in.CacheNamespace)
		case "timeoutInMillis":
			return patchInt(op, &in.TimeoutInMillis)
		case "integrationTarget":
			return patchString(op, &in.IntegrationTarget)
		case "responseTransferMode":
			return patchString(op, &in.ResponseTransferMode)
		}
	}
	if len(s) == 2 {
		switch s[0] {
		case "requestParameters":
			return patchMap(op, &in.RequestParameters, s[1])
		case "requestTemplates":
			return patchMap(op, &in.RequestTemplates, s[1])
		case "cacheKeyParameters":
			return patchList(op, &in.CacheKeyParameters, s[1])
		case "tlsConfig":
			if s[1] == "insecureSkipVerification" {
				if in.TLSConfig == nil {
					in.TLSConfig = &model.TLSConfig{}
				}
				return patchBool(op, &in.TLSConfig.InsecureSkipVerification)
			}
		}
	}
	return errPatchPath(op)
}

func (a *API) deleteIntegration(r *http.Request, _ []byte) (int, any, error) {
	_, err := a.editMethod(r, func(m *model.Method) (any, error) {
		if m.MethodIntegration == nil {
			return nil, errNoIntegration
		}
		m.MethodIntegration = nil
		return nil, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// Integration responses.

func (a *API) putIntegrationResponse(r *http.Request, body []byte) (int, any, error) {
	code, err := statusCode(r)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		SelectionPattern   string            `json:"selectionPattern"`
		ResponseParameters map[string]string `json:"responseParameters"`
		ResponseTemplates  map[string]string `json:"responseTemplates"`
		ContentHandling    string            `json:"contentHandling"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if in.SelectionPattern != "" {
		if _, err := regexp.Compile(in.SelectionPattern); err != nil {
			return 0, nil, badRequest("Invalid selection pattern specified: %s", in.SelectionPattern)
		}
	}
	ir := &model.IntegrationResponse{StatusCode: code, SelectionPattern: in.SelectionPattern,
		ResponseParameters: in.ResponseParameters, ResponseTemplates: in.ResponseTemplates, ContentHandling: in.ContentHandling}
	if err := validateIntegrationResponse(ir); err != nil {
		return 0, nil, err
	}
	out, err := a.editMethod(r, func(m *model.Method) (any, error) {
		if m.MethodIntegration == nil {
			return nil, errNoIntegration
		}
		if m.MethodIntegration.IntegrationResponses == nil {
			m.MethodIntegration.IntegrationResponses = map[string]*model.IntegrationResponse{}
		}
		m.MethodIntegration.IntegrationResponses[code] = ir
		return ir, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, out, nil
}

func (a *API) getIntegrationResponse(r *http.Request, _ []byte) (int, any, error) {
	if _, err := statusCode(r); err != nil {
		return 0, nil, err
	}
	m, err := a.readMethod(r)
	if err != nil {
		return 0, nil, err
	}
	if m.MethodIntegration == nil {
		return 0, nil, errNoIntegration
	}
	ir := m.MethodIntegration.IntegrationResponses[r.PathValue("status")]
	if ir == nil {
		return 0, nil, errNoIntegrationResponse
	}
	return http.StatusOK, ir, nil
}

func (a *API) updateIntegrationResponse(r *http.Request, body []byte) (int, any, error) {
	ops, err := parseResponsePatch(r, body, "updateIntegrationResponseInput")
	if err != nil {
		return 0, nil, err
	}
	out, err := a.editMethod(r, func(m *model.Method) (any, error) {
		if m.MethodIntegration == nil {
			return nil, errNoIntegration
		}
		ir := m.MethodIntegration.IntegrationResponses[r.PathValue("status")]
		if ir == nil {
			return nil, errNoIntegrationResponse
		}
		for _, op := range ops {
			var err error
			s := op.Segs
			switch {
			case len(s) == 1 && s[0] == "selectionPattern":
				err = patchString(op, &ir.SelectionPattern)
			case len(s) == 1 && s[0] == "contentHandling":
				err = patchString(op, &ir.ContentHandling)
			case len(s) == 2 && s[0] == "responseParameters":
				err = patchMap(op, &ir.ResponseParameters, s[1])
			case len(s) == 2 && s[0] == "responseTemplates":
				err = patchMap(op, &ir.ResponseTemplates, s[1])
			default:
				err = errPatchPath(op)
			}
			if err != nil {
				return nil, err
			}
		}
		return ir, validateIntegrationResponse(ir)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (a *API) deleteIntegrationResponse(r *http.Request, _ []byte) (int, any, error) {
	code, err := statusCode(r)
	if err != nil {
		return 0, nil, err
	}
	// AWS answers an unknown or invalid method here as an unknown
	// integration.
	name := r.PathValue("method")
	_, err = a.editResource(r, func(res *model.Resource) (any, error) {
		m := res.ResourceMethods[name]
		if m == nil || m.MethodIntegration == nil {
			return nil, errNoIntegration
		}
		if m.MethodIntegration.IntegrationResponses[code] == nil {
			return nil, errNoIntegrationResponse
		}
		delete(m.MethodIntegration.IntegrationResponses, code)
		return nil, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
