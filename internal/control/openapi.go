package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/openapi"
	"github.com/apigw/apigw/internal/schema"
	"github.com/apigw/apigw/internal/store"
)

// rawBody is an answer that is not JSON: GetExport's document.
type rawBody struct {
	contentType, disposition string
	body                     []byte
}

// importParams reads ImportRestApi's and PutRestApi's query parameters.
func importParams(r *http.Request) (openapi.BasePath, []string, bool, error) {
	q := r.URL.Query()
	bp := openapi.BasePath(q.Get("basepath"))
	switch bp {
	case "":
		bp = openapi.BasePathIgnore
	case openapi.BasePathIgnore, openapi.BasePathPrepend, openapi.BasePathSplit:
	default:
		return "", nil, false, badRequest("Invalid basepath parameter: %s. Valid values are ignore, prepend and split", bp)
	}
	var types []string
	if t := q.Get("endpointConfigurationTypes"); t != "" {
		types = strings.Split(t, ",")
	}
	return bp, types, q.Get("failonwarnings") == "true", nil
}

// definition is an imported document: what openapi.Import read, and the
// documentation parts of its x-amazon-apigateway-documentation as checked.
type definition struct {
	*openapi.API
	docParts []*model.DocumentationPart
}

// parseDefinition imports body for the API apiID, with AWS's errors. The
// document's documentation parts come along unless the parameter ignore is
// "documentation", as on AWS.
func parseDefinition(r *http.Request, body []byte, apiID string, bp openapi.BasePath, failOnWarnings bool) (*definition, error) {
	d, err := openapi.Import(body, openapi.Options{APIID: apiID, BasePath: bp})
	var ie *openapi.ImportError
	var le *openapi.LimitError
	switch {
	case errors.As(err, &ie):
		return nil, badRequest("%s", ie.Error())
	case errors.As(err, &le):
		return nil, badRequest("%s", le.Error())
	case err != nil:
		return nil, badRequest("Invalid OpenAPI input.")
	}
	def := &definition{API: d}
	if r.URL.Query().Get("ignore") == "documentation" {
		def.Documentation = nil
	}
	if def.Documentation != nil {
		parts, warnings := checkDocParts(def.Documentation.Parts)
		def.docParts = parts
		def.Warnings = append(def.Warnings, warnings...)
	}
	if failOnWarnings && len(def.Warnings) > 0 {
		return nil, badRequest("Warnings found during import:\n\t%s", strings.Join(def.Warnings, "\n\t"))
	}
	return def, nil
}

// writeDocumentation stores an imported document's documentation parts
// (replacing the API's with overwrite) and, where the extension names a
// version, a documentation version of the API's parts as they are then
// (replacing that version's parts when it exists).
func (a *API) writeDocumentation(ctx context.Context, tx store.Tx, apiID string, def *definition, overwrite bool) error {
	if def.Documentation == nil {
		return nil
	}
	if _, err := writeDocParts(ctx, tx, apiID, def.docParts, overwrite); err != nil {
		return err
	}
	v := def.Documentation.Version
	if v == "" {
		return nil
	}
	if strings.TrimSpace(v) == "" || strings.Contains(v, "/") {
		return badRequest("Invalid documentation version specified: '%s'", v)
	}
	parts, err := listJSON[model.DocumentationPart](ctx, tx, model.KindDocumentationPart, model.ApiPrefix(apiID))
	if err != nil {
		return err
	}
	rec := new(model.DocumentationVersionRecord)
	if err := getJSON(ctx, tx, model.KindDocumentationVersion, model.ChildKey(apiID, v), rec, nil); err != nil {
		return err
	}
	if rec.Version == "" {
		rec.DocumentationVersion = model.DocumentationVersion{Version: v, CreatedDate: a.now().Unix()}
	}
	rec.Parts = make([]model.DocumentationPart, len(parts))
	for i, p := range parts {
		rec.Parts[i] = *p
	}
	return putJSON(ctx, tx, model.KindDocumentationVersion, model.ChildKey(apiID, v), rec)
}

func (a *API) importRestApi(r *http.Request, body []byte) (int, any, error) {
	bp, types, failOnWarnings, err := importParams(r)
	if err != nil {
		return 0, nil, err
	}
	id := newID(10)
	def, err := parseDefinition(r, body, id, bp, failOnWarnings)
	if err != nil {
		return 0, nil, err
	}
	api := def.RestApi
	api.ID = id
	api.CreatedDate = a.now().Unix()
	api.ApiStatus = "AVAILABLE"
	api.Warnings = def.Warnings
	if api.ApiKeySource == "" {
		api.ApiKeySource = "HEADER"
	}
	if types != nil {
		if api.EndpointConfiguration == nil {
			api.EndpointConfiguration = &model.EndpointConfiguration{}
		}
		api.EndpointConfiguration.Types = types
	}
	if err := defaultEndpointConfiguration(&api); err != nil {
		return 0, nil, err
	}
	if err := validateRestApi(&api); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		stored := api
		stored.Warnings = nil
		if err := putJSON(ctx, tx, model.KindRestApi, api.ID, &stored); err != nil {
			return err
		}
		root, err := a.writeDefinition(ctx, tx, api.ID, def.API, false)
		if err != nil {
			return err
		}
		if err := a.writeDocumentation(ctx, tx, api.ID, def, false); err != nil {
			return err
		}
		stored.RootResourceID = root
		api.RootResourceID = root
		return putJSON(ctx, tx, model.KindRestApi, api.ID, &stored)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, &api, nil
}

func (a *API) putRestApi(r *http.Request, body []byte) (int, any, error) {
	bp, _, failOnWarnings, err := importParams(r)
	if err != nil {
		return 0, nil, err
	}
	merge := true
	switch r.URL.Query().Get("mode") {
	case "", "merge":
	case "overwrite":
		merge = false
	default:
		return 0, nil, badRequest("Invalid mode parameter: %s. Valid values are merge and overwrite", r.URL.Query().Get("mode"))
	}
	id := r.PathValue("api")
	def, err := parseDefinition(r, body, id, bp, failOnWarnings)
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	var api *model.RestApi
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if api, err = a.loadRestApi(ctx, tx, id); err != nil {
			return err
		}
		// The document's API settings replace the API's where it has them.
		d := def.RestApi
		if !merge || d.Name != "" {
			if d.Name != "" {
				api.Name = d.Name
			}
			api.Description = d.Description
			api.Version = d.Version
		}
		if d.BinaryMediaTypes != nil || !merge {
			api.BinaryMediaTypes = d.BinaryMediaTypes
		}
		if d.ApiKeySource != "" {
			api.ApiKeySource = d.ApiKeySource
		}
		if d.MinimumCompressionSize != nil || !merge {
			api.MinimumCompressionSize = d.MinimumCompressionSize
		}
		if d.Policy != "" || !merge {
			api.Policy = d.Policy
		}
		if err := validateRestApi(api); err != nil {
			return err
		}
		if !merge {
			for _, kind := range []string{model.KindResource, model.KindAuthorizer, model.KindGatewayResponse, model.KindModel, model.KindValidator} {
				items, err := tx.List(ctx, kind, model.ApiPrefix(id))
				if err != nil {
					return err
				}
				for _, it := range items {
					if err := tx.Delete(ctx, kind, it.Key); err != nil {
						return err
					}
				}
			}
		}
		root, err := a.writeDefinition(ctx, tx, id, def.API, merge)
		if err != nil {
			return err
		}
		if err := a.writeDocumentation(ctx, tx, id, def, !merge); err != nil {
			return err
		}
		api.RootResourceID = root
		return putJSON(ctx, tx, model.KindRestApi, id, api)
	})
	if err != nil {
		return 0, nil, err
	}
	out := *api
	out.Warnings = def.Warnings
	return http.StatusOK, &out, nil
}

// writeDefinition checks what an imported document defines with the
// management API's own checks and writes it into the API apiID. With merge,
// what the API has already is kept unless the document redefines it (same
// path and method, model name, authorizer or validator name, response
// type). It returns the id of the root resource.
func (a *API) writeDefinition(ctx context.Context, tx store.Tx, apiID string, def *openapi.API, merge bool) (string, error) {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	msg := func(err error) string {
		var e *Error
		if errors.As(err, &e) {
			return e.Message
		}
		return err.Error()
	}

	// Authorizers and validators get ids; methods name them.
	existingAuth, err := listJSON[model.Authorizer](ctx, tx, model.KindAuthorizer, model.ApiPrefix(apiID))
	if err != nil {
		return "", err
	}
	authIDs := map[string]string{}
	for _, au := range existingAuth {
		authIDs[au.Name] = au.ID
	}
	for _, au := range def.Authorizers {
		if id, ok := authIDs[au.Name]; ok {
			au.ID = id
		} else {
			au.ID = newID(6)
		}
		authIDs[au.Name] = au.ID
		if err := validateAuthorizer(au); err != nil {
			fail("Unable to create authorizer '%s': %s", au.Name, msg(err))
			continue
		}
		if err := putJSON(ctx, tx, model.KindAuthorizer, model.ChildKey(apiID, au.ID), au); err != nil {
			return "", err
		}
	}
	existingVal, err := listJSON[model.RequestValidator](ctx, tx, model.KindValidator, model.ApiPrefix(apiID))
	if err != nil {
		return "", err
	}
	valIDs := map[string]string{}
	for _, v := range existingVal {
		valIDs[v.Name] = v.ID
	}
	for _, v := range def.Validators {
		if id, ok := valIDs[v.Name]; ok {
			v.ID = id
		} else {
			v.ID = newID(6)
		}
		valIDs[v.Name] = v.ID
		if err := putJSON(ctx, tx, model.KindValidator, model.ChildKey(apiID, v.ID), v); err != nil {
			return "", err
		}
	}

	// Models: the document's, over what the API has (the defaults for a new
	// API).
	models, err := a.listModels(ctx, tx, apiID)
	if err != nil {
		return "", err
	}
	if len(models) == 0 {
		models = defaultModels()
	}
	byName := map[string]*model.Model{}
	for _, m := range models {
		byName[m.Name] = m
	}
	for _, m := range def.Models {
		if old := byName[m.Name]; old != nil {
			m.ID = old.ID
		} else {
			m.ID = newID(6)
		}
		byName[m.Name] = m
	}
	all := make([]*model.Model, 0, len(byName))
	for _, n := range sortedKeys(byName) {
		all = append(all, byName[n])
	}
	set := schema.NewSet(apiID, all)
	for _, m := range all {
		if err := checkModelIn(set, m); err != nil {
			fail("Unable to create model for '%s': %s", m.Name, msg(err))
			continue
		}
		if err := putJSON(ctx, tx, model.KindModel, model.ChildKey(apiID, m.Name), m); err != nil {
			return "", err
		}
	}

	// Resources: by path, reusing the API's where merging.
	byPath := map[string]*model.Resource{}
	if merge {
		list, err := listJSON[model.Resource](ctx, tx, model.KindResource, model.ApiPrefix(apiID))
		if err != nil {
			return "", err
		}
		for _, res := range list {
			byPath[res.Path] = res
		}
	}
	for _, res := range def.Resources { // parents come before children
		cur := byPath[res.Path]
		if cur == nil {
			cur = &model.Resource{ID: newID(10), Path: res.Path, PathPart: res.PathPart}
			if res.Path != "/" {
				i := strings.LastIndex(res.Path, "/")
				parent := res.Path[:i]
				if parent == "" {
					parent = "/"
				}
				if p := byPath[parent]; p != nil {
					cur.ParentID = p.ID
				}
			}
			byPath[res.Path] = cur
		}
		for _, name := range sortedKeys(res.ResourceMethods) {
			m := res.ResourceMethods[name]
			if m.AuthorizerID != "" {
				m.AuthorizerID = authIDs[m.AuthorizerID]
			}
			if m.RequestValidatorID != "" {
				m.RequestValidatorID = valIDs[m.RequestValidatorID]
			}
			if err := validateMethod(m); err != nil {
				fail("Unable to put method '%s' on resource at path '%s': %s", name, res.Path, msg(err))
				continue
			}
			bad := false
			for code, mr := range m.MethodResponses {
				if err := validateResponseParams(mr.ResponseParameters); err != nil {
					fail("Unable to put method response '%s' on '%s' for resource at path '%s': %s", code, name, res.Path, msg(err))
					bad = true
				}
			}
			if in := m.MethodIntegration; in != nil {
				if in.CacheNamespace == "" {
					in.CacheNamespace = cur.ID
				}
				if err := validateIntegration(in); err != nil {
					fail("Unable to put integration on '%s' for resource at path '%s': %s", name, res.Path, msg(err))
					bad = true
				} else if err := checkVpcLink(ctx, tx, in); err != nil {
					fail("Unable to put integration on '%s' for resource at path '%s': %s", name, res.Path, msg(err))
					bad = true
				}
				for code, ir := range in.IntegrationResponses {
					if err := validateIntegrationResponse(ir); err != nil {
						fail("Unable to put integration response on '%s' for resource at path '%s' (status %s): %s", name, res.Path, code, msg(err))
						bad = true
					}
				}
			}
			if bad {
				continue
			}
			if cur.ResourceMethods == nil {
				cur.ResourceMethods = map[string]*model.Method{}
			}
			cur.ResourceMethods[name] = m
		}
	}
	for _, res := range byPath {
		if err := putJSON(ctx, tx, model.KindResource, model.ChildKey(apiID, res.ID), res); err != nil {
			return "", err
		}
	}
	for _, gr := range def.GatewayResponses {
		if v := responseTypeViolation(gr.ResponseType); v != "" {
			fail("Unable to put gateway response '%s': %s", gr.ResponseType, v)
			continue
		}
		full := defaultGatewayResponse(gr.ResponseType)
		full.DefaultResponse = false
		if gr.StatusCode != "" {
			full.StatusCode = gr.StatusCode
		}
		if gr.ResponseParameters != nil {
			full.ResponseParameters = gr.ResponseParameters
		}
		if len(gr.ResponseTemplates) > 0 {
			full.ResponseTemplates = gr.ResponseTemplates
		}
		if err := validateGatewayResponse(full); err != nil {
			fail("Unable to put gateway response '%s': %s", gr.ResponseType, msg(err))
			continue
		}
		if err := putJSON(ctx, tx, model.KindGatewayResponse, model.ChildKey(apiID, gr.ResponseType), full); err != nil {
			return "", err
		}
	}
	if len(errs) > 0 {
		return "", badRequest("Errors found during import:\n\t%s", strings.Join(errs, "\n\t"))
	}
	return byPath["/"].ID, nil
}

func (a *API) getExport(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, stageName := r.PathValue("api"), r.PathValue("stage")
	opt := openapi.ExportOptions{Stage: stageName, Region: a.Region}
	switch r.PathValue("type") {
	case "oas30":
	case "swagger":
		opt.Swagger = true
	default:
		return 0, nil, badRequest("Invalid export type specified: %s. Valid values are oas30 and swagger", r.PathValue("type"))
	}
	accept := r.Header.Get("Accept")
	switch {
	case strings.Contains(accept, "yaml"):
		opt.YAML = true
	case accept == "" || strings.Contains(accept, "json") || strings.Contains(accept, "*/*"):
	default:
		return 0, nil, badRequest("Invalid Accept header: %s. Valid values are application/json and application/yaml", accept)
	}
	if e := r.URL.Query().Get("extensions"); e != "" {
		for _, x := range strings.Split(e, ",") {
			x = strings.TrimSpace(x)
			switch x {
			case "integrations", "apigateway", "authorizers", "postman":
				opt.Extensions = append(opt.Extensions, x)
			default:
				return 0, nil, badRequest("Invalid extensions specified: %s", x)
			}
		}
	}
	st, snap, err := a.stageSnapshot(ctx, apiID, stageName)
	if err != nil {
		return 0, nil, err
	}
	dep, err := a.loadDeployment(ctx, a.Store, apiID, st.DeploymentID)
	if err != nil {
		return 0, nil, err
	}
	if v := st.DocumentationVersion; v != "" {
		rec := new(model.DocumentationVersionRecord)
		if err := getJSON(ctx, a.Store, model.KindDocumentationVersion, model.ChildKey(apiID, v), rec, nil); err != nil {
			return 0, nil, err
		}
		if rec.Version != "" { // a version deleted after the stage named it exports none
			opt.Documentation = &openapi.ExportedDocs{Version: v, Parts: rec.Parts}
		}
	}
	opt.Created = time.Unix(dep.CreatedDate, 0)
	doc, err := openapi.Export(snap, opt)
	if err != nil {
		return 0, nil, fmt.Errorf("control: export %s/%s: %w", apiID, stageName, err)
	}
	ct, ext := "application/json", "json"
	if opt.YAML {
		ct, ext = "application/yaml", "yaml"
	}
	name := "oas30"
	if opt.Swagger {
		name = "swagger"
	}
	return http.StatusOK, rawBody{
		contentType: ct,
		disposition: fmt.Sprintf(`attachment; filename="%s_%s.%s"`, name, opt.Created.UTC().Format("2006-01-02T15:04:05Z"), ext),
		body:        doc,
	}, nil
}

// stageSnapshot reads a stage and the snapshot of its deployment, with
// AWS's errors for an unknown API or stage.
func (a *API) stageSnapshot(ctx context.Context, apiID, stageName string) (*model.Stage, *model.Snapshot, error) {
	if _, err := a.loadRestApi(ctx, a.Store, apiID); err != nil {
		return nil, nil, err
	}
	st, err := a.loadStage(ctx, a.Store, apiID, stageName)
	if err != nil {
		return nil, nil, err
	}
	snap := new(model.Snapshot)
	if err := getJSON(ctx, a.Store, model.KindSnapshot, model.ChildKey(apiID, st.DeploymentID), snap, errNoDeployment); err != nil {
		return nil, nil, err
	}
	return st, snap, nil
}
