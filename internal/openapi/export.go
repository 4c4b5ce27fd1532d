package openapi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"

	"github.com/apigw/apigw/internal/model"
)

// ExportOptions are the parameters of GetExport.
type ExportOptions struct {
	Swagger bool // Swagger 2.0 instead of OpenAPI 3.0.1
	YAML    bool
	Stage   string
	Region  string
	// Extensions are GetExport's "extensions": integrations, apigateway,
	// authorizers, postman.
	Extensions []string
	// Created is the deployment's time, the info.version of an API without
	// a version.
	Created time.Time
	// Documentation is the documentation version of the stage, or nil.
	Documentation *ExportedDocs
}

// ExportedDocs is a documentation version: its parts go into the document
// as AWS puts them, the summary and description of METHOD parts into the
// operations and the description of RESPONSE parts into the responses,
// and, with the apigateway extensions, every part into
// x-amazon-apigateway-documentation.
type ExportedDocs struct {
	Version string
	Parts   []model.DocumentationPart
}

// docProps is the properties of the part of type typ at path, for method
// and status code (or the part for every method or status, "*"), or nil.
func (d *ExportedDocs) docProps(typ, path, method, status string) map[string]any {
	if d == nil {
		return nil
	}
	var best map[string]any
	bestScore := -1
	for _, p := range d.Parts {
		l := p.Location
		if l.Type != typ || l.Path != path || (l.Method != method && l.Method != "*") || (l.StatusCode != status && l.StatusCode != "*") {
			continue
		}
		score := 0
		if l.Method == method {
			score += 2
		}
		if l.StatusCode == status {
			score++
		}
		var m map[string]any
		if json.Unmarshal([]byte(p.Properties), &m) == nil && score > bestScore {
			best, bestScore = m, score
		}
	}
	return best
}

// extension is x-amazon-apigateway-documentation: the parts, their
// properties as objects, in a stable order.
func (d *ExportedDocs) extension() map[string]any {
	parts := append([]model.DocumentationPart(nil), d.Parts...)
	key := func(p model.DocumentationPart) string {
		l := p.Location
		return strings.Join([]string{l.Type, l.Path, l.Method, l.StatusCode, l.Name}, "\x00")
	}
	sort.Slice(parts, func(i, j int) bool { return key(parts[i]) < key(parts[j]) })
	list := make([]any, 0, len(parts))
	for _, p := range parts {
		var props any
		if json.Unmarshal([]byte(p.Properties), &props) != nil {
			continue
		}
		list = append(list, map[string]any{"location": p.Location, "properties": props})
	}
	return map[string]any{"version": d.Version, "documentationParts": list}
}

func (o ExportOptions) has(name string) bool {
	for _, e := range o.Extensions {
		if e == name {
			return true
		}
	}
	return false
}

// Export writes the document of a deployed API.
func Export(snap *model.Snapshot, opt ExportOptions) ([]byte, error) {
	integrations := opt.has("integrations") || opt.has("apigateway")
	all := opt.has("apigateway")
	authorizers := all || opt.has("authorizers")
	api := snap.Api
	version := api.Version
	if version == "" {
		version = opt.Created.UTC().Format(time.RFC3339)
	}
	info := map[string]any{"title": api.Name, "version": version}
	if api.Description != "" {
		info["description"] = api.Description
	}
	doc := map[string]any{
		"openapi": "3.0.1",
		"info":    info,
		"servers": []any{map[string]any{
			"url":       fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/{basePath}", api.ID, opt.Region),
			"variables": map[string]any{"basePath": map[string]any{"default": opt.Stage}},
		}},
	}
	authByID := map[string]*model.Authorizer{}
	for _, a := range snap.Authorizers {
		authByID[a.ID] = a
	}
	validatorByID := map[string]*model.RequestValidator{}
	for _, v := range snap.RequestValidators {
		validatorByID[v.ID] = v
	}
	paths := map[string]any{}
	schemes := map[string]any{}
	resources := append([]*model.Resource(nil), snap.Resources...)
	sort.Slice(resources, func(i, j int) bool { return resources[i].Path < resources[j].Path })
	for _, res := range resources {
		if len(res.ResourceMethods) == 0 {
			continue
		}
		item := map[string]any{}
		for name, m := range res.ResourceMethods {
			op := map[string]any{}
			if m.OperationName != "" {
				op["operationId"] = m.OperationName
			}
			var params []any
			for _, p := range sortedKeys(m.RequestParameters) {
				rest := strings.TrimPrefix(p, "method.request.")
				loc, pname, _ := strings.Cut(rest, ".")
				in := map[string]string{"path": "path", "querystring": "query", "header": "header"}[loc]
				if in == "" {
					continue
				}
				pr := map[string]any{"name": pname, "in": in, "schema": map[string]any{"type": "string"}}
				if m.RequestParameters[p] || in == "path" {
					pr["required"] = true
				}
				params = append(params, pr)
			}
			if params != nil {
				op["parameters"] = params
			}
			if len(m.RequestModels) > 0 {
				content := map[string]any{}
				for ct, n := range m.RequestModels {
					content[ct] = map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + n}}
				}
				op["requestBody"] = map[string]any{"content": content, "required": true}
			}
			if props := opt.Documentation.docProps("METHOD", res.Path, name, ""); props != nil {
				for _, k := range []string{"summary", "description"} {
					if v, ok := props[k].(string); ok {
						op[k] = v
					}
				}
			}
			responses := map[string]any{}
			for code, mr := range m.MethodResponses {
				r := map[string]any{"description": code + " response"}
				if v, ok := opt.Documentation.docProps("RESPONSE", res.Path, name, code)["description"].(string); ok {
					r["description"] = v
				}
				if len(mr.ResponseParameters) > 0 {
					headers := map[string]any{}
					for p := range mr.ResponseParameters {
						if h, ok := strings.CutPrefix(p, "method.response.header."); ok {
							headers[h] = map[string]any{"schema": map[string]any{"type": "string"}}
						}
					}
					r["headers"] = headers
				}
				if len(mr.ResponseModels) > 0 {
					content := map[string]any{}
					for ct, n := range mr.ResponseModels {
						content[ct] = map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + n}}
					}
					r["content"] = content
				}
				responses[code] = r
			}
			if len(responses) == 0 {
				responses["default"] = map[string]any{"description": "Default response"}
			}
			op["responses"] = responses
			var sec []any
			switch m.AuthorizationType {
			case "AWS_IAM":
				sec = append(sec, map[string]any{"sigv4": []string{}})
				schemes["sigv4"] = map[string]any{"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}
			case "CUSTOM", "COGNITO_USER_POOLS":
				if a := authByID[m.AuthorizerID]; a != nil {
					scopes := m.AuthorizationScopes
					if scopes == nil {
						scopes = []string{}
					}
					sec = append(sec, map[string]any{a.Name: scopes})
					if authorizers {
						schemes[a.Name] = securityScheme(a)
					}
				}
			}
			if m.ApiKeyRequired {
				sec = append(sec, map[string]any{"api_key": []string{}})
				schemes["api_key"] = map[string]any{"type": "apiKey", "name": "x-api-key", "in": "header"}
			}
			if sec != nil {
				op["security"] = sec
			}
			if all && m.RequestValidatorID != "" {
				if v := validatorByID[m.RequestValidatorID]; v != nil {
					op["x-amazon-apigateway-request-validator"] = v.Name
				}
			}
			if integrations && m.MethodIntegration != nil {
				op["x-amazon-apigateway-integration"] = integrationExport(m.MethodIntegration)
			}
			if name == "ANY" {
				if all || integrations {
					item["x-amazon-apigateway-any-method"] = op
				}
				continue
			}
			item[strings.ToLower(name)] = op
		}
		paths[res.Path] = item
	}
	doc["paths"] = paths
	components := map[string]any{}
	if len(snap.Models) > 0 {
		schemas := map[string]any{}
		for _, m := range snap.Models {
			var v any
			if err := json.Unmarshal([]byte(m.Schema), &v); err != nil {
				continue
			}
			rewriteRefs(v, func(ref string) string {
				if n, ok := cutModelURL(ref); ok {
					return "#/components/schemas/" + n
				}
				return ref
			})
			if o, ok := v.(map[string]any); ok {
				delete(o, "$schema")
			}
			schemas[m.Name] = v
		}
		components["schemas"] = schemas
	}
	if len(schemes) > 0 {
		components["securitySchemes"] = schemes
	}
	if len(components) > 0 {
		doc["components"] = components
	}
	if all {
		rootExtensionsExport(doc, snap)
		if opt.Documentation != nil {
			doc["x-amazon-apigateway-documentation"] = opt.Documentation.extension()
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	if opt.Swagger {
		if b, err = toSwagger(b); err != nil {
			return nil, err
		}
	}
	if opt.YAML {
		var v any
		if err := yaml.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		return yaml.Marshal(v)
	}
	return canonical(b), nil
}

// cutModelURL returns the model name of a model URL (model.ModelURL) of
// any API.
func cutModelURL(ref string) (string, bool) {
	rest, ok := strings.CutPrefix(ref, "https://apigateway.amazonaws.com/restapis/")
	if !ok {
		return "", false
	}
	_, name, ok := strings.Cut(rest, "/models/")
	return name, ok && name != ""
}

func toSwagger(b []byte) (out []byte, err error) {
	defer func() {
		if recover() != nil {
			out, err = nil, fmt.Errorf("openapi: swagger conversion failed")
		}
	}()
	var d3 openapi3.T
	if err := json.Unmarshal(b, &d3); err != nil {
		return nil, err
	}
	d2, err := openapi2conv.FromV3(&d3)
	if err != nil {
		return nil, err
	}
	return json.Marshal(d2)
}

func securityScheme(a *model.Authorizer) map[string]any {
	header := strings.TrimPrefix(a.IdentitySource, "method.request.header.")
	if a.Type == "REQUEST" || header == a.IdentitySource {
		header = "Unused"
	}
	au := map[string]any{"type": strings.ToLower(a.Type)}
	if a.AuthorizerURI != "" {
		au["authorizerUri"] = a.AuthorizerURI
	}
	if a.AuthorizerCredentials != "" {
		au["authorizerCredentials"] = a.AuthorizerCredentials
	}
	if a.IdentitySource != "" {
		au["identitySource"] = a.IdentitySource
	}
	if a.IdentityValidationExpression != "" {
		au["identityValidationExpression"] = a.IdentityValidationExpression
	}
	if a.AuthorizerResultTtlInSeconds != nil {
		au["authorizerResultTtlInSeconds"] = *a.AuthorizerResultTtlInSeconds
	}
	if len(a.ProviderARNs) > 0 {
		au["providerARNs"] = a.ProviderARNs
	}
	authType := a.AuthType
	if authType == "" {
		authType = "custom"
		if a.Type == "COGNITO_USER_POOLS" {
			authType = "cognito_user_pools"
		}
	}
	return map[string]any{
		"type": "apiKey", "name": header, "in": "header",
		"x-amazon-apigateway-authtype":   authType,
		"x-amazon-apigateway-authorizer": au,
	}
}

func integrationExport(in *model.Integration) map[string]any {
	out := map[string]any{"type": strings.ToLower(in.Type)}
	set := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	set("httpMethod", in.HTTPMethod)
	set("uri", in.URI)
	set("connectionType", in.ConnectionType)
	set("connectionId", in.ConnectionID)
	set("credentials", in.Credentials)
	set("passthroughBehavior", strings.ToLower(in.PassthroughBehavior))
	set("contentHandling", in.ContentHandling)
	set("cacheNamespace", in.CacheNamespace)
	if in.TimeoutInMillis != 0 {
		out["timeoutInMillis"] = in.TimeoutInMillis
	}
	if len(in.RequestParameters) > 0 {
		out["requestParameters"] = in.RequestParameters
	}
	if len(in.RequestTemplates) > 0 {
		out["requestTemplates"] = in.RequestTemplates
	}
	if len(in.CacheKeyParameters) > 0 {
		out["cacheKeyParameters"] = in.CacheKeyParameters
	}
	if in.TLSConfig != nil {
		out["tlsConfig"] = in.TLSConfig
	}
	if len(in.IntegrationResponses) > 0 {
		rs := map[string]any{}
		for code, ir := range in.IntegrationResponses {
			r := map[string]any{"statusCode": code}
			if len(ir.ResponseParameters) > 0 {
				r["responseParameters"] = ir.ResponseParameters
			}
			if len(ir.ResponseTemplates) > 0 {
				r["responseTemplates"] = ir.ResponseTemplates
			}
			if ir.ContentHandling != "" {
				r["contentHandling"] = ir.ContentHandling
			}
			key := ir.SelectionPattern
			if key == "" {
				key = "default"
			}
			rs[key] = r
		}
		out["responses"] = rs
	}
	return out
}

func rootExtensionsExport(doc map[string]any, snap *model.Snapshot) {
	api := snap.Api
	if len(api.BinaryMediaTypes) > 0 {
		doc["x-amazon-apigateway-binary-media-types"] = api.BinaryMediaTypes
	}
	if api.ApiKeySource != "" && api.ApiKeySource != "HEADER" {
		doc["x-amazon-apigateway-api-key-source"] = api.ApiKeySource
	}
	if api.MinimumCompressionSize != nil {
		doc["x-amazon-apigateway-minimum-compression-size"] = *api.MinimumCompressionSize
	}
	if api.Policy != "" {
		var v any
		if json.Unmarshal([]byte(api.Policy), &v) == nil {
			doc["x-amazon-apigateway-policy"] = v
		}
	}
	if ec := api.EndpointConfiguration; api.DisableExecuteApiEndpoint || (ec != nil && len(ec.VpcEndpointIds) > 0) {
		e := map[string]any{}
		if api.DisableExecuteApiEndpoint {
			e["disableExecuteApiEndpoint"] = true
		}
		if ec != nil && len(ec.VpcEndpointIds) > 0 {
			e["vpcEndpointIds"] = ec.VpcEndpointIds
		}
		doc["x-amazon-apigateway-endpoint-configuration"] = e
	}
	if len(snap.RequestValidators) > 0 {
		vs := map[string]any{}
		for _, v := range snap.RequestValidators {
			vs[v.Name] = map[string]any{"validateRequestBody": v.ValidateRequestBody, "validateRequestParameters": v.ValidateRequestParameters}
		}
		doc["x-amazon-apigateway-request-validators"] = vs
	}
	if len(snap.GatewayResponses) > 0 {
		grs := map[string]any{}
		for _, g := range snap.GatewayResponses {
			r := map[string]any{}
			if g.StatusCode != "" {
				r["statusCode"] = g.StatusCode
			}
			if len(g.ResponseParameters) > 0 {
				r["responseParameters"] = g.ResponseParameters
			}
			if len(g.ResponseTemplates) > 0 {
				r["responseTemplates"] = g.ResponseTemplates
			}
			grs[g.ResponseType] = r
		}
		doc["x-amazon-apigateway-gateway-responses"] = grs
	}
}
