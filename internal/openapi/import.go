// Package openapi turns an OpenAPI 3 or Swagger 2 document (JSON or YAML)
// with API Gateway's x-amazon-apigateway-* extensions into apigw's resource
// model, and a deployed API back into such a document. It only translates:
// the management API (internal/control) checks and stores what Import
// returns with the same functions its own operations use.
package openapi

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"

	"github.com/apigw/apigw/internal/model"
)

// ErrInvalidInput is a body that is not an OpenAPI document; AWS answers
// "Invalid OpenAPI input.".
var ErrInvalidInput = errors.New("openapi: invalid input")

// BasePath says what Import does with the document's base path (Swagger's
// basePath, or the path of OpenAPI 3's first server URL).
type BasePath string

// The basepath modes of ImportRestApi and PutRestApi.
const (
	BasePathIgnore  BasePath = "ignore"  // drop it
	BasePathPrepend BasePath = "prepend" // put it in front of every path
	BasePathSplit   BasePath = "split"   // drop its first segment, prepend the rest
)

// Options are the parameters of an import.
type Options struct {
	// APIID names the API the document is imported into; models' $refs
	// become model URLs of this API.
	APIID    string
	BasePath BasePath
}

// API is what a document describes, in apigw's model. Ids are left empty,
// except that Method.AuthorizerID holds the name of an Authorizer of the
// list and Method.RequestValidatorID the name of a RequestValidator: the
// caller gives them ids when it stores them.
type API struct {
	RestApi          model.RestApi
	Resources        []*model.Resource // sorted by path; "/" first; intermediate paths included
	Authorizers      []*model.Authorizer
	Models           []*model.Model
	Validators       []*model.RequestValidator
	GatewayResponses []*model.GatewayResponse
	// Documentation is the document's x-amazon-apigateway-documentation,
	// or nil; the caller checks its parts' locations.
	Documentation *Documentation
	Warnings      []string
}

// Documentation is the x-amazon-apigateway-documentation extension:
// documentation parts, and the version of the snapshot they were exported
// from.
type Documentation struct {
	Version string    `json:"version,omitempty"`
	Parts   []DocPart `json:"documentationParts"`
}

// DocPart is a documentation part as the extension writes it: properties
// as a JSON object, not a string.
type DocPart struct {
	Location   model.DocumentationPartLocation `json:"location"`
	Properties json.RawMessage                 `json:"properties"`
}

// Parse reads a document, OpenAPI 3 or Swagger 2, in JSON or YAML. A
// document over the limits (MaxBytes, MaxDepth, MaxNodes, MaxWork) is a
// *LimitError, refused before the OpenAPI library reads it.
func Parse(body []byte) (*openapi3.T, error) {
	if len(body) > MaxBytes {
		return nil, &LimitError{fmt.Sprintf("The API definition file is larger than the maximum of %d bytes (6 MB)", MaxBytes)}
	}
	// JSON is YAML, but encoding/json reads it ten times faster than the
	// YAML library does.
	var raw any
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' && json.Valid(t) {
		d := json.NewDecoder(bytes.NewReader(t))
		d.UseNumber()
		if err := d.Decode(&raw); err != nil {
			return nil, ErrInvalidInput
		}
	} else if err := yaml.Unmarshal(body, &raw); err != nil {
		return nil, ErrInvalidInput
	}
	if err := checkBudget(raw); err != nil {
		return nil, err
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, ErrInvalidInput
	}
	js, err := json.Marshal(raw)
	if err != nil {
		return nil, ErrInvalidInput
	}
	if v, ok := top["swagger"]; ok {
		if s, _ := v.(string); s != "2.0" {
			return nil, ErrInvalidInput
		}
		var d2 openapi2.T
		if err := json.Unmarshal(js, &d2); err != nil {
			return nil, ErrInvalidInput
		}
		d3, err := safeToV3(&d2)
		if err != nil {
			return nil, ErrInvalidInput
		}
		return d3, nil
	}
	if s, _ := top["openapi"].(string); !strings.HasPrefix(s, "3.") {
		return nil, ErrInvalidInput
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := safeLoad(loader, js)
	if err != nil {
		return nil, ErrInvalidInput
	}
	return doc, nil
}

// safeToV3 and safeLoad turn a panic in the library on hostile input into
// an error: the importer reads bytes from the network.
func safeToV3(d *openapi2.T) (doc *openapi3.T, err error) {
	defer func() {
		if recover() != nil {
			doc, err = nil, ErrInvalidInput
		}
	}()
	return openapi2conv.ToV3(d)
}

func safeLoad(l *openapi3.Loader, js []byte) (doc *openapi3.T, err error) {
	defer func() {
		if recover() != nil {
			doc, err = nil, ErrInvalidInput
		}
	}()
	return l.LoadFromData(js)
}

// Import parses body and translates it.
func Import(body []byte, opt Options) (*API, error) {
	doc, err := Parse(body)
	if err != nil {
		return nil, err
	}
	return translate(doc, opt)
}

type importer struct {
	opt     Options
	doc     *openapi3.T
	out     *API
	byPath  map[string]*model.Resource
	schemes map[string]*scheme
	models  map[string]*model.Model
	errs    []string
}

// scheme is what a security scheme means for a method.
type scheme struct {
	authType   string // AWS_IAM, CUSTOM, COGNITO_USER_POOLS, or "" for an API key
	authorizer string
}

// ext decodes the extension key of exts into v; it reports whether it was
// there.
func ext(exts map[string]any, key string, v any) (bool, error) {
	raw, ok := exts[key]
	if !ok {
		return false, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return true, err
	}
	return true, json.Unmarshal(b, v)
}

func (im *importer) warn(format string, args ...any) {
	im.out.Warnings = append(im.out.Warnings, fmt.Sprintf(format, args...))
}

func (im *importer) fail(format string, args ...any) {
	im.errs = append(im.errs, fmt.Sprintf(format, args...))
}

// ImportError lists what made an import fail, in AWS's words.
type ImportError struct{ Errors []string }

func (e *ImportError) Error() string {
	return "Errors found during import:\n\t" + strings.Join(e.Errors, "\n\t")
}

func translate(doc *openapi3.T, opt Options) (*API, error) {
	im := &importer{opt: opt, doc: doc, out: &API{}, byPath: map[string]*model.Resource{}, schemes: map[string]*scheme{}, models: map[string]*model.Model{}}
	api := &im.out.RestApi
	if doc.Info != nil {
		api.Name = doc.Info.Title
		api.Description = doc.Info.Description
		api.Version = doc.Info.Version
	}
	im.rootExtensions(doc.Extensions)
	im.componentModels()
	im.securitySchemes()
	validators := im.validators(doc.Extensions)
	var defaultValidator string
	if _, err := ext(doc.Extensions, "x-amazon-apigateway-request-validator", &defaultValidator); err != nil {
		im.fail("Invalid request validator: %v", err)
	}
	if defaultValidator != "" && !validators[defaultValidator] {
		im.fail("Invalid request validator '%s'", defaultValidator)
		defaultValidator = ""
	}
	base := im.basePath()
	im.resource("/")
	if doc.Paths != nil {
		paths := doc.Paths.Map()
		for _, p := range sortedKeys(paths) {
			item := paths[p]
			if item == nil {
				continue
			}
			full := joinPath(base, p)
			res := im.resource(full)
			if res == nil {
				continue
			}
			ops := item.Operations()
			var anyOp openapi3.Operation
			if ok, err := ext(item.Extensions, "x-amazon-apigateway-any-method", &anyOp); err != nil {
				im.fail("Unable to put method 'ANY' on resource at path '%s': invalid x-amazon-apigateway-any-method", full)
			} else if ok {
				ops["ANY"] = &anyOp
			}
			for _, name := range sortedKeys(ops) {
				if name == "TRACE" || name == "CONNECT" || name == "QUERY" {
					im.warn("Unsupported HTTP method '%s' on resource at path '%s'", name, full)
					continue
				}
				m := im.method(full, name, item.Parameters, ops[name], validators, defaultValidator)
				if m == nil {
					continue
				}
				if res.ResourceMethods == nil {
					res.ResourceMethods = map[string]*model.Method{}
				}
				res.ResourceMethods[name] = m
			}
		}
	}
	for _, p := range sortedKeys(im.byPath) {
		im.out.Resources = append(im.out.Resources, im.byPath[p])
	}
	for _, n := range sortedKeys(im.models) {
		im.out.Models = append(im.out.Models, im.models[n])
	}
	if len(im.errs) > 0 {
		return nil, &ImportError{Errors: im.errs}
	}
	return im.out, nil
}

func (im *importer) rootExtensions(exts map[string]any) {
	api := &im.out.RestApi
	if _, err := ext(exts, "x-amazon-apigateway-binary-media-types", &api.BinaryMediaTypes); err != nil {
		im.fail("Invalid x-amazon-apigateway-binary-media-types: must be a list of strings")
	}
	if _, err := ext(exts, "x-amazon-apigateway-api-key-source", &api.ApiKeySource); err != nil {
		im.fail("Invalid x-amazon-apigateway-api-key-source")
	}
	var mcs int64
	if ok, err := ext(exts, "x-amazon-apigateway-minimum-compression-size", &mcs); err != nil {
		im.fail("Invalid x-amazon-apigateway-minimum-compression-size")
	} else if ok {
		api.MinimumCompressionSize = &mcs
	}
	var pol json.RawMessage
	if ok, err := ext(exts, "x-amazon-apigateway-policy", &pol); err != nil {
		im.fail("Invalid x-amazon-apigateway-policy")
	} else if ok {
		var s string
		if json.Unmarshal(pol, &s) == nil {
			api.Policy = s
		} else {
			api.Policy = string(pol)
		}
	}
	var ec struct {
		VpcEndpointIds            []string `json:"vpcEndpointIds"`
		DisableExecuteApiEndpoint bool     `json:"disableExecuteApiEndpoint"`
		IPAddressType             string   `json:"ipAddressType"`
	}
	if ok, err := ext(exts, "x-amazon-apigateway-endpoint-configuration", &ec); err != nil {
		im.fail("Invalid x-amazon-apigateway-endpoint-configuration")
	} else if ok {
		api.DisableExecuteApiEndpoint = ec.DisableExecuteApiEndpoint
		if len(ec.VpcEndpointIds) > 0 || ec.IPAddressType != "" {
			api.EndpointConfiguration = &model.EndpointConfiguration{VpcEndpointIds: ec.VpcEndpointIds, IPAddressType: ec.IPAddressType}
		}
	}
	var docs Documentation
	if ok, err := ext(exts, "x-amazon-apigateway-documentation", &docs); err != nil {
		im.fail("Invalid x-amazon-apigateway-documentation")
	} else if ok {
		im.out.Documentation = &docs
	}
	var grs map[string]struct {
		StatusCode         json.Number       `json:"statusCode"`
		ResponseParameters map[string]string `json:"responseParameters"`
		ResponseTemplates  map[string]string `json:"responseTemplates"`
	}
	if _, err := ext(exts, "x-amazon-apigateway-gateway-responses", &grs); err != nil {
		im.fail("Invalid x-amazon-apigateway-gateway-responses")
	}
	for _, t := range sortedKeys(grs) {
		g := grs[t]
		im.out.GatewayResponses = append(im.out.GatewayResponses, &model.GatewayResponse{
			ResponseType: t, StatusCode: g.StatusCode.String(), ResponseParameters: g.ResponseParameters, ResponseTemplates: g.ResponseTemplates,
		})
	}
}

func (im *importer) validators(exts map[string]any) map[string]bool {
	var vs map[string]struct {
		ValidateRequestBody       bool `json:"validateRequestBody"`
		ValidateRequestParameters bool `json:"validateRequestParameters"`
	}
	if _, err := ext(exts, "x-amazon-apigateway-request-validators", &vs); err != nil {
		im.fail("Invalid x-amazon-apigateway-request-validators")
	}
	names := map[string]bool{}
	for _, n := range sortedKeys(vs) {
		v := vs[n]
		names[n] = true
		im.out.Validators = append(im.out.Validators, &model.RequestValidator{Name: n, ValidateRequestBody: v.ValidateRequestBody, ValidateRequestParameters: v.ValidateRequestParameters})
	}
	return names
}

// basePath is the document's base path, cleaned, or "" when ignored.
func (im *importer) basePath() string {
	var bp string
	if v, ok := im.doc.Extensions["basePath"].(string); ok {
		bp = v
	}
	if len(im.doc.Servers) > 0 && im.doc.Servers[0] != nil {
		s := im.doc.Servers[0]
		raw := s.URL
		for name, v := range s.Variables {
			if v != nil {
				raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
			}
		}
		if u, err := url.Parse(raw); err == nil {
			bp = u.Path
		}
	}
	bp = strings.Trim(bp, "/")
	switch im.opt.BasePath {
	case BasePathPrepend:
		return bp
	case BasePathSplit:
		if _, rest, ok := strings.Cut(bp, "/"); ok {
			return rest
		}
		return ""
	}
	return ""
}

func joinPath(base, p string) string {
	if base == "" {
		return p
	}
	return "/" + base + "/" + strings.TrimPrefix(p, "/")
}

var pathPartRE = regexp.MustCompile(`^(?:[a-zA-Z0-9._:-]+|\{[a-zA-Z0-9._:-]+\+?\})$`)

// resource returns the resource at path, with every resource above it.
func (im *importer) resource(p string) *model.Resource {
	if p != "/" {
		p = "/" + strings.Trim(p, "/")
	}
	if res := im.byPath[p]; res != nil {
		return res
	}
	if p == "/" {
		res := &model.Resource{Path: "/"}
		im.byPath["/"] = res
		return res
	}
	i := strings.LastIndex(p, "/")
	parent, part := p[:i], p[i+1:]
	if parent == "" {
		parent = "/"
	}
	if !pathPartRE.MatchString(part) {
		im.fail("Unable to create resource at path '%s': Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace.", p)
		return nil
	}
	if im.resource(parent) == nil {
		return nil
	}
	res := &model.Resource{Path: p, PathPart: part}
	im.byPath[p] = res
	return res
}

// componentModels makes a model of every schema of components/schemas (or
// Swagger's definitions).
func (im *importer) componentModels() {
	if im.doc.Components == nil {
		return
	}
	for _, name := range sortedKeys(im.doc.Components.Schemas) {
		ref := im.doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		m, err := im.modelOf(name, ref.Value)
		if err != nil {
			im.fail("Unable to create model for '%s': Invalid model schema specified", name)
			continue
		}
		im.models[name] = m
	}
}

var modelNameRE = regexp.MustCompile(`^[a-zA-Z0-9]+$`)

func (im *importer) modelOf(name string, s *openapi3.Schema) (*model.Model, error) {
	if !modelNameRE.MatchString(name) {
		return nil, fmt.Errorf("name")
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema")
	}
	rewriteRefs(obj, func(ref string) string {
		if n, ok := strings.CutPrefix(ref, "#/components/schemas/"); ok {
			return model.ModelURL(im.opt.APIID, n)
		}
		return ref
	})
	out, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return nil, err
	}
	return &model.Model{Name: name, Schema: string(out), ContentType: "application/json", Description: s.Description}, nil
}

// rewriteRefs replaces every "$ref" string under v.
func rewriteRefs(v any, f func(string) string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				x[k] = f(s)
				continue
			}
			rewriteRefs(e, f)
		}
	case []any:
		for _, e := range x {
			rewriteRefs(e, f)
		}
	}
}

// modelRef names the model a schema of a request or response body stands
// for: the component it refers to, or a new model of an inline schema.
func (im *importer) modelRef(ref *openapi3.SchemaRef) string {
	if ref == nil {
		return ""
	}
	if n, ok := strings.CutPrefix(ref.Ref, "#/components/schemas/"); ok {
		if im.models[n] == nil {
			im.warn("Invalid model identifier specified: %s", n)
			return ""
		}
		return n
	}
	if ref.Value == nil {
		return ""
	}
	b, _ := json.Marshal(ref.Value)
	sum := sha1.Sum(b)
	name := "MODEL" + hex.EncodeToString(sum[:])[:6]
	if im.models[name] == nil {
		m, err := im.modelOf(name, ref.Value)
		if err != nil {
			im.fail("Unable to create model for '%s': Invalid model schema specified", name)
			return ""
		}
		im.models[name] = m
	}
	return name
}

type authorizerExt struct {
	Type                         string   `json:"type"`
	AuthorizerURI                string   `json:"authorizerUri"`
	AuthorizerCredentials        string   `json:"authorizerCredentials"`
	IdentitySource               string   `json:"identitySource"`
	IdentityValidationExpression string   `json:"identityValidationExpression"`
	AuthorizerResultTtlInSeconds *int64   `json:"authorizerResultTtlInSeconds"`
	ProviderARNs                 []string `json:"providerARNs"`
}

func (im *importer) securitySchemes() {
	if im.doc.Components == nil {
		return
	}
	for _, name := range sortedKeys(im.doc.Components.SecuritySchemes) {
		ref := im.doc.Components.SecuritySchemes[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		ss := ref.Value
		var authType string
		if _, err := ext(ss.Extensions, "x-amazon-apigateway-authtype", &authType); err != nil {
			im.fail("Invalid x-amazon-apigateway-authtype of security scheme '%s'", name)
			continue
		}
		var au authorizerExt
		hasAuthorizer, err := ext(ss.Extensions, "x-amazon-apigateway-authorizer", &au)
		if err != nil {
			im.fail("Unable to create authorizer '%s': invalid x-amazon-apigateway-authorizer", name)
			continue
		}
		switch {
		case strings.EqualFold(authType, "awsSigv4"):
			im.schemes[name] = &scheme{authType: "AWS_IAM"}
		case hasAuthorizer:
			t := strings.ToUpper(au.Type)
			a := &model.Authorizer{
				Name: name, Type: t, AuthorizerURI: au.AuthorizerURI, AuthorizerCredentials: au.AuthorizerCredentials,
				IdentitySource: au.IdentitySource, IdentityValidationExpression: au.IdentityValidationExpression,
				AuthorizerResultTtlInSeconds: au.AuthorizerResultTtlInSeconds, ProviderARNs: au.ProviderARNs, AuthType: authType,
			}
			if t == "TOKEN" && a.IdentitySource == "" && ss.In == "header" && ss.Name != "" {
				a.IdentitySource = "method.request.header." + ss.Name
			}
			if t == "COGNITO_USER_POOLS" && a.IdentitySource == "" && ss.Name != "" {
				a.IdentitySource = "method.request.header." + ss.Name
			}
			if a.AuthorizerResultTtlInSeconds == nil && t != "COGNITO_USER_POOLS" {
				ttl := int64(300)
				a.AuthorizerResultTtlInSeconds = &ttl
			}
			im.out.Authorizers = append(im.out.Authorizers, a)
			kind := "CUSTOM"
			if t == "COGNITO_USER_POOLS" {
				kind = "COGNITO_USER_POOLS"
			}
			im.schemes[name] = &scheme{authType: kind, authorizer: name}
		case ss.Type == "apiKey" && strings.EqualFold(ss.Name, "x-api-key") && ss.In == "header":
			im.schemes[name] = &scheme{}
		default:
			im.warn("Unsupported security definition type '%s' for '%s'. Ignoring.", ss.Type, name)
		}
	}
}

type integrationExt struct {
	Type                string                          `json:"type"`
	HTTPMethod          string                          `json:"httpMethod"`
	URI                 string                          `json:"uri"`
	ConnectionType      string                          `json:"connectionType"`
	ConnectionID        string                          `json:"connectionId"`
	Credentials         string                          `json:"credentials"`
	RequestParameters   map[string]string               `json:"requestParameters"`
	RequestTemplates    map[string]string               `json:"requestTemplates"`
	PassthroughBehavior string                          `json:"passthroughBehavior"`
	ContentHandling     string                          `json:"contentHandling"`
	TimeoutInMillis     *int64                          `json:"timeoutInMillis"`
	CacheNamespace      string                          `json:"cacheNamespace"`
	CacheKeyParameters  []string                        `json:"cacheKeyParameters"`
	Responses           map[string]*integrationResponse `json:"responses"`
	TLSConfig           *model.TLSConfig                `json:"tlsConfig"`
}

type integrationResponse struct {
	StatusCode         json.Number       `json:"statusCode"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
	ContentHandling    string            `json:"contentHandling"`
}

func (im *importer) method(path, name string, common openapi3.Parameters, op *openapi3.Operation, validators map[string]bool, defaultValidator string) *model.Method {
	if op == nil {
		return nil
	}
	m := &model.Method{HTTPMethod: name, AuthorizationType: "NONE", OperationName: op.OperationID}
	params := map[string]bool{}
	for _, list := range []openapi3.Parameters{common, op.Parameters} {
		for _, pr := range list {
			if pr == nil || pr.Value == nil {
				continue
			}
			loc := map[string]string{"path": "path", "query": "querystring", "header": "header"}[pr.Value.In]
			if loc == "" {
				im.warn("Unsupported parameter location '%s' for '%s' on '%s %s'. Ignoring.", pr.Value.In, pr.Value.Name, name, path)
				continue
			}
			params["method.request."+loc+"."+pr.Value.Name] = pr.Value.Required
		}
	}
	if len(params) > 0 {
		m.RequestParameters = params
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		for _, ct := range sortedKeys(op.RequestBody.Value.Content) {
			mt := op.RequestBody.Value.Content[ct]
			if mt == nil {
				continue
			}
			if n := im.modelRef(mt.Schema); n != "" {
				if m.RequestModels == nil {
					m.RequestModels = map[string]string{}
				}
				m.RequestModels[ct] = n
			}
		}
	}
	if op.Responses != nil {
		for code, rr := range op.Responses.Map() {
			if !statusRE.MatchString(code) {
				if code != "default" {
					im.warn("Invalid response status code '%s' on '%s %s'. Ignoring.", code, name, path)
				}
				continue
			}
			mr := &model.MethodResponse{StatusCode: code}
			if rr != nil && rr.Value != nil {
				for h := range rr.Value.Headers {
					if mr.ResponseParameters == nil {
						mr.ResponseParameters = map[string]bool{}
					}
					mr.ResponseParameters["method.response.header."+h] = false
				}
				for _, ct := range sortedKeys(rr.Value.Content) {
					if mt := rr.Value.Content[ct]; mt != nil {
						if n := im.modelRef(mt.Schema); n != "" {
							if mr.ResponseModels == nil {
								mr.ResponseModels = map[string]string{}
							}
							mr.ResponseModels[ct] = n
						}
					}
				}
			}
			if m.MethodResponses == nil {
				m.MethodResponses = map[string]*model.MethodResponse{}
			}
			m.MethodResponses[code] = mr
		}
	}
	// Security: the operation's, or the document's.
	sec := im.doc.Security
	if op.Security != nil {
		sec = *op.Security
	}
	for _, req := range sec {
		for _, sname := range sortedKeys(req) {
			s := im.schemes[sname]
			if s == nil {
				im.warn("Unable to find security definition '%s' for '%s %s'", sname, name, path)
				continue
			}
			switch s.authType {
			case "":
				m.ApiKeyRequired = true
			default:
				m.AuthorizationType = s.authType
				m.AuthorizerID = s.authorizer
				if s.authType == "COGNITO_USER_POOLS" && len(req[sname]) > 0 {
					m.AuthorizationScopes = req[sname]
				}
			}
		}
	}
	var auth struct {
		Type string `json:"type"`
	}
	if ok, err := ext(op.Extensions, "x-amazon-apigateway-auth", &auth); err != nil {
		im.fail("Unable to put method '%s' on resource at path '%s': invalid x-amazon-apigateway-auth", name, path)
	} else if ok {
		m.AuthorizationType = strings.ToUpper(auth.Type)
	}
	v := defaultValidator
	if _, err := ext(op.Extensions, "x-amazon-apigateway-request-validator", &v); err != nil {
		im.fail("Unable to put method '%s' on resource at path '%s': invalid x-amazon-apigateway-request-validator", name, path)
	}
	if v != "" {
		if !validators[v] {
			im.fail("Unable to put method '%s' on resource at path '%s': Invalid Request Validator identifier specified", name, path)
		} else {
			m.RequestValidatorID = v
		}
	}
	var ie integrationExt
	ok, err := ext(op.Extensions, "x-amazon-apigateway-integration", &ie)
	if err != nil {
		im.fail("Unable to put integration on '%s' for resource at path '%s': invalid x-amazon-apigateway-integration", name, path)
		return m
	}
	if ok {
		m.MethodIntegration = integrationOf(&ie)
	}
	return m
}

var statusRE = regexp.MustCompile(`^[1-5][0-9][0-9]$`)

// integrationOf fills in what AWS defaults; the values stay as written
// otherwise (the caller checks them).
func integrationOf(ie *integrationExt) *model.Integration {
	in := &model.Integration{
		Type:                strings.ToUpper(ie.Type),
		HTTPMethod:          strings.ToUpper(ie.HTTPMethod),
		URI:                 ie.URI,
		ConnectionType:      strings.ToUpper(ie.ConnectionType),
		ConnectionID:        ie.ConnectionID,
		Credentials:         ie.Credentials,
		RequestParameters:   ie.RequestParameters,
		RequestTemplates:    ie.RequestTemplates,
		PassthroughBehavior: strings.ToUpper(ie.PassthroughBehavior),
		ContentHandling:     strings.ToUpper(ie.ContentHandling),
		TimeoutInMillis:     29000,
		CacheNamespace:      ie.CacheNamespace,
		CacheKeyParameters:  ie.CacheKeyParameters,
		TLSConfig:           ie.TLSConfig,
	}
	if ie.TimeoutInMillis != nil {
		in.TimeoutInMillis = *ie.TimeoutInMillis
	}
	in.FillDefaults()
	for pattern, r := range ie.Responses {
		if r == nil {
			continue
		}
		sel := pattern
		if sel == "default" {
			sel = ""
		}
		if in.IntegrationResponses == nil {
			in.IntegrationResponses = map[string]*model.IntegrationResponse{}
		}
		code := r.StatusCode.String()
		in.IntegrationResponses[code] = &model.IntegrationResponse{
			StatusCode: code, SelectionPattern: sel, ResponseParameters: r.ResponseParameters,
			ResponseTemplates: r.ResponseTemplates, ContentHandling: strings.ToUpper(r.ContentHandling),
		}
	}
	return in
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// canonical re-encodes JSON with sorted keys, so equal documents compare
// equal byte for byte.
func canonical(b []byte) []byte {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return b
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if enc.Encode(v) != nil {
		return b
	}
	return buf.Bytes()
}
