package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/openapi"
	"github.com/apigw/apigw/internal/store"
)

// docPartIDLen is the length of AWS's documentation part ids.
const docPartIDLen = 6

var errNoDocPart = notFound("Invalid Documentation part identifier specified")

func errNoDocVersion(v string) *Error {
	return notFound("Documentation version not found: %s", v)
}

// docLocationRule is which location fields a documentation part type takes
// (AWS's DocumentationPartLocation): path and method default to "/" and
// "*", statusCode to "*"; name is required where needName is set.
type docLocationRule struct {
	path, method, statusCode, name, needName bool
}

var docLocationRules = map[string]docLocationRule{
	"API":             {},
	"AUTHORIZER":      {name: true, needName: true},
	"MODEL":           {name: true, needName: true},
	"RESOURCE":        {path: true},
	"METHOD":          {path: true, method: true},
	"PATH_PARAMETER":  {path: true, method: true, name: true, needName: true},
	"QUERY_PARAMETER": {path: true, method: true, name: true, needName: true},
	"REQUEST_HEADER":  {path: true, method: true, name: true, needName: true},
	"REQUEST_BODY":    {path: true, method: true, name: true},
	"RESPONSE":        {path: true, method: true, statusCode: true},
	"RESPONSE_HEADER": {path: true, method: true, statusCode: true, name: true, needName: true},
	"RESPONSE_BODY":   {path: true, method: true, statusCode: true},
}

// docTypeEnum is the enum as AWS lists it in its constraint texts.
const docTypeEnum = "[RESPONSE_BODY, RESPONSE, METHOD, MODEL, AUTHORIZER, RESPONSE_HEADER, RESOURCE, PATH_PARAMETER, REQUEST_BODY, QUERY_PARAMETER, API, REQUEST_HEADER]"

var docStatusCode = regexp.MustCompile(`^([1-5]\d\d|\*|\s*)$`)

// checkDocLocation validates loc by AWS's rules for its type and fills in
// the defaults. input names the operation's input in constraint texts.
func checkDocLocation(loc *model.DocumentationPartLocation, input string) error {
	if loc.Type == "" {
		return validation("1 validation error detected: Value null at '%s.location.type' failed to satisfy constraint: Member must not be null", input)
	}
	rule, ok := docLocationRules[loc.Type]
	if !ok {
		return validation("1 validation error detected: Value '%s' at '%s.location.type' failed to satisfy constraint: Member must satisfy enum value set: %s", loc.Type, input, docTypeEnum)
	}
	if !docStatusCode.MatchString(loc.StatusCode) {
		return validation(`1 validation error detected: Value '%s' at '%s.location.statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([1-5]\d\d|\*|\s*)$`, loc.StatusCode, input)
	}
	for _, f := range []struct {
		name  string
		value string
		valid bool
	}{
		{"path", loc.Path, rule.path},
		{"method", loc.Method, rule.method},
		{"statusCode", strings.TrimSpace(loc.StatusCode), rule.statusCode},
		{"name", loc.Name, rule.name},
	} {
		if f.value != "" && !f.valid {
			return badRequest("Invalid location: '%s' is not a valid field for type %s", f.name, loc.Type)
		}
	}
	if rule.needName && loc.Name == "" {
		return badRequest("Invalid location: 'name' is required for type %s", loc.Type)
	}
	if rule.path {
		if loc.Path == "" {
			loc.Path = "/"
		}
		if !strings.HasPrefix(loc.Path, "/") {
			return badRequest("Invalid location: path '%s' must begin with '/'", loc.Path)
		}
	}
	if rule.method {
		if loc.Method == "" {
			loc.Method = "*"
		}
		if loc.Method != "*" && !httpMethods[loc.Method] {
			return badRequest("Invalid location: invalid method '%s'", loc.Method)
		}
	}
	if rule.statusCode {
		if strings.TrimSpace(loc.StatusCode) == "" {
			loc.StatusCode = "*"
		}
	} else {
		loc.StatusCode = ""
	}
	return nil
}

// describeDocLocation is how AWS names a location in its conflict text:
// type 'METHOD', path '/pets', method '*'.
func describeDocLocation(loc model.DocumentationPartLocation) string {
	s := fmt.Sprintf("type '%s'", loc.Type)
	for _, f := range [][2]string{{"path", loc.Path}, {"method", loc.Method}, {"statusCode", loc.StatusCode}, {"name", loc.Name}} {
		if f[1] != "" {
			s += fmt.Sprintf(", %s '%s'", f[0], f[1])
		}
	}
	return s
}

// checkDocProperties requires properties to be a JSON object, as AWS does.
func checkDocProperties(p *string, input string) error {
	if p == nil {
		return validation("1 validation error detected: Value null at '%s.properties' failed to satisfy constraint: Member must not be null", input)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*p), &m); err != nil || m == nil {
		return badRequest("Invalid documentation content specified: properties must be a JSON object")
	}
	return nil
}

// docDocumented reports whether a part has content: a non-empty object.
func docDocumented(p *model.DocumentationPart) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(p.Properties), &m) == nil && len(m) > 0
}

func (a *API) loadDocParts(ctx context.Context, rd store.Reader, apiID string) ([]*model.DocumentationPart, error) {
	if _, err := a.loadRestApi(ctx, rd, apiID); err != nil {
		return nil, err
	}
	return listJSON[model.DocumentationPart](ctx, rd, model.KindDocumentationPart, model.ApiPrefix(apiID))
}

// docPartAt returns the part of parts at loc, or nil.
func docPartAt(parts []*model.DocumentationPart, loc model.DocumentationPartLocation) *model.DocumentationPart {
	for _, p := range parts {
		if p.Location == loc {
			return p
		}
	}
	return nil
}

// createDocPart stores a new part with a fresh id.
func createDocPart(ctx context.Context, tx store.Tx, apiID string, p *model.DocumentationPart) error {
	for {
		p.ID = newID(docPartIDLen)
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		err = tx.Create(ctx, model.KindDocumentationPart, model.ChildKey(apiID, p.ID), b)
		if !errors.Is(err, store.ErrExists) {
			return err
		}
	}
}

func (a *API) createDocumentationPart(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		Location   *model.DocumentationPartLocation `json:"location"`
		Properties *string                          `json:"properties"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	const input = "createDocumentationPartInput"
	if in.Location == nil {
		return 0, nil, validation("1 validation error detected: Value null at '%s.location' failed to satisfy constraint: Member must not be null", input)
	}
	if err := checkDocLocation(in.Location, input); err != nil {
		return 0, nil, err
	}
	if err := checkDocProperties(in.Properties, input); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	p := &model.DocumentationPart{Location: *in.Location, Properties: *in.Properties}
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		parts, err := a.loadDocParts(ctx, tx, apiID)
		if err != nil {
			return err
		}
		if docPartAt(parts, p.Location) != nil {
			return conflict("Documentation part already exists for the specified location: %s.", describeDocLocation(p.Location))
		}
		return createDocPart(ctx, tx, apiID, p)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, p, nil
}

func (a *API) getDocumentationPart(r *http.Request, _ []byte) (int, any, error) {
	p, err := loadChild[model.DocumentationPart](r.Context(), a, a.Store, model.KindDocumentationPart, r.PathValue("api"), r.PathValue("part"), errNoDocPart)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) getDocumentationParts(r *http.Request, _ []byte) (int, any, error) {
	q := r.URL.Query()
	typ, path, name, status := q.Get("type"), q.Get("path"), q.Get("name"), q.Get("locationStatus")
	var bad []string
	if _, ok := docLocationRules[typ]; typ != "" && !ok {
		bad = append(bad, fmt.Sprintf("Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: %s", typ, docTypeEnum))
	}
	if status != "" && status != "DOCUMENTED" && status != "UNDOCUMENTED" {
		bad = append(bad, fmt.Sprintf("Value '%s' at 'locationStatus' failed to satisfy constraint: Member must satisfy enum value set: [DOCUMENTED, UNDOCUMENTED]", status))
	}
	if err := validationErrors(bad); err != nil {
		return 0, nil, err
	}
	parts, err := a.loadDocParts(r.Context(), a.Store, r.PathValue("api"))
	if err != nil {
		return 0, nil, err
	}
	out := parts[:0]
	for _, p := range parts {
		switch {
		case typ != "" && p.Location.Type != typ,
			path != "" && p.Location.Path != path,
			name != "" && !strings.Contains(strings.ToLower(p.Location.Name), strings.ToLower(name)),
			status == "DOCUMENTED" && !docDocumented(p),
			status == "UNDOCUMENTED" && docDocumented(p):
			continue
		}
		out = append(out, p)
	}
	pg, err := paginate(r, out, func(p *model.DocumentationPart) string { return p.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, pg, nil
}

func (a *API) updateDocumentationPart(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateDocumentationPartInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	var p *model.DocumentationPart
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if p, err = loadChild[model.DocumentationPart](ctx, a, tx, model.KindDocumentationPart, apiID, r.PathValue("part"), errNoDocPart); err != nil {
			return err
		}
		for _, op := range ops {
			if op.Op != "replace" {
				return badRequest("Invalid patch path  '%s' specified for op '%s'. Please choose supported operations", op.Path, op.Op)
			}
			if op.Path != "/properties" {
				return badRequest("Invalid patch path  '%s' specified for op 'replace'. Must be one of: [/properties]", op.Path)
			}
			if err := checkDocProperties(op.Value, "updateDocumentationPartInput"); err != nil {
				return err
			}
			p.Properties = *op.Value
		}
		return putJSON(ctx, tx, model.KindDocumentationPart, model.ChildKey(apiID, p.ID), p)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) deleteDocumentationPart(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID := r.PathValue("api")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadRestApi(ctx, tx, apiID); err != nil {
			return err
		}
		err := tx.Delete(ctx, model.KindDocumentationPart, model.ChildKey(apiID, r.PathValue("part")))
		if errors.Is(err, store.ErrNotFound) {
			return errNoDocPart
		}
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// importedDocs is the part of an OpenAPI document ImportDocumentationParts
// reads.
type importedDocs struct {
	Docs *openapi.Documentation `json:"x-amazon-apigateway-documentation"`
}

// importDocumentationParts reads the x-amazon-apigateway-documentation of
// an OpenAPI (or Swagger) document. mode=merge (the default) adds its parts
// and replaces the properties of those at a location that already has one;
// mode=overwrite replaces every part of the API. A part that cannot be read
// is skipped with a warning, or fails the import with failonwarnings=true.
func (a *API) importDocumentationParts(r *http.Request, body []byte) (int, any, error) {
	q := r.URL.Query()
	mode := q.Get("mode")
	switch mode {
	case "":
		mode = "merge"
	case "merge", "overwrite":
	default:
		return 0, nil, validation("1 validation error detected: Value '%s' at 'mode' failed to satisfy constraint: Member must satisfy enum value set: [merge, overwrite]", mode)
	}
	failOnWarnings := q.Get("failonwarnings") == "true"
	incoming, warnings, err := parseImportedDocs(body)
	if err != nil {
		return 0, nil, err
	}
	if failOnWarnings && len(warnings) > 0 {
		return 0, nil, badRequest("Import failed with warnings: %s", strings.Join(warnings, "; "))
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	var ids []string
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadRestApi(ctx, tx, apiID); err != nil {
			return err
		}
		ids, err = writeDocParts(ctx, tx, apiID, incoming, mode == "overwrite")
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		IDs      []string `json:"ids"`
		Warnings []string `json:"warnings,omitempty"`
	}{ids, warnings}
	return http.StatusOK, out, nil
}

// parseImportedDocs reads the documentation parts of an OpenAPI document:
// the parts it can import, and a warning for each one it cannot.
func parseImportedDocs(body []byte) ([]*model.DocumentationPart, []string, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, nil, badRequest("Invalid OpenAPI input: apigw imports documentation from OpenAPI documents in JSON")
	}
	var doc importedDocs
	if err := json.Unmarshal(trimmed, &doc); err != nil {
		return nil, nil, badRequest("Invalid OpenAPI input: %s", jsonErrText(err))
	}
	if doc.Docs == nil {
		return nil, []string{"The document has no x-amazon-apigateway-documentation: no documentation parts imported"}, nil
	}
	incoming, warnings := checkDocParts(doc.Docs.Parts)
	return incoming, warnings, nil
}

// checkDocParts checks the parts of an x-amazon-apigateway-documentation:
// the parts it can import, and a warning for each one it cannot.
func checkDocParts(parts []openapi.DocPart) ([]*model.DocumentationPart, []string) {
	var warnings []string
	var incoming []*model.DocumentationPart
	seen := map[model.DocumentationPartLocation]bool{}
	for i, in := range parts {
		loc := in.Location
		var props string
		var buf bytes.Buffer
		if len(in.Properties) > 0 && in.Properties[0] == '{' && json.Compact(&buf, in.Properties) == nil {
			props = buf.String()
		}
		err := checkDocLocation(&loc, "documentationParts")
		if err == nil && props == "" {
			err = badRequest("properties must be a JSON object")
		}
		if err == nil && seen[loc] {
			err = badRequest("duplicate location %s", describeDocLocation(loc))
		}
		if err != nil {
			var e *Error
			msg := err.Error()
			if errors.As(err, &e) {
				msg = e.Message
			}
			warnings = append(warnings, fmt.Sprintf("Documentation part %d skipped: %s", i, msg))
			continue
		}
		seen[loc] = true
		incoming = append(incoming, &model.DocumentationPart{Location: loc, Properties: props})
	}
	return incoming, warnings
}

// writeDocParts stores incoming parts in the API apiID: a part at a
// location that has one replaces its properties and keeps its id, the
// others are added; with overwrite, the API's other parts are deleted. It
// returns the ids of the parts written.
func writeDocParts(ctx context.Context, tx store.Tx, apiID string, incoming []*model.DocumentationPart, overwrite bool) ([]string, error) {
	parts, err := listJSON[model.DocumentationPart](ctx, tx, model.KindDocumentationPart, model.ApiPrefix(apiID))
	if err != nil {
		return nil, err
	}
	if overwrite {
		for _, p := range parts {
			if err := tx.Delete(ctx, model.KindDocumentationPart, model.ChildKey(apiID, p.ID)); err != nil {
				return nil, err
			}
		}
		parts = nil
	}
	at := make(map[model.DocumentationPartLocation]*model.DocumentationPart, len(parts))
	for _, p := range parts {
		at[p.Location] = p
	}
	ids := []string{}
	for _, p := range incoming {
		if old := at[p.Location]; old != nil {
			old.Properties = p.Properties
			if err := putJSON(ctx, tx, model.KindDocumentationPart, model.ChildKey(apiID, old.ID), old); err != nil {
				return nil, err
			}
			ids = append(ids, old.ID)
			continue
		}
		if err := createDocPart(ctx, tx, apiID, p); err != nil {
			return nil, err
		}
		ids = append(ids, p.ID)
	}
	return ids, nil
}

func (a *API) loadDocVersion(ctx context.Context, rd store.Reader, apiID, version string) (*model.DocumentationVersionRecord, error) {
	return loadChild[model.DocumentationVersionRecord](ctx, a, rd, model.KindDocumentationVersion, apiID, version, errNoDocVersion(version))
}

// createDocumentationVersion publishes the API's current parts as a
// version; with stageName, the stage shows it as its documentationVersion.
func (a *API) createDocumentationVersion(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		DocumentationVersion *string `json:"documentationVersion"`
		StageName            string  `json:"stageName"`
		Description          string  `json:"description"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if in.DocumentationVersion == nil {
		return 0, nil, validation("1 validation error detected: Value null at 'createDocumentationVersionInput.documentationVersion' failed to satisfy constraint: Member must not be null")
	}
	v := *in.DocumentationVersion
	if strings.TrimSpace(v) == "" || strings.Contains(v, "/") {
		return 0, nil, badRequest("Invalid documentation version specified: '%s'", v)
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	rec := &model.DocumentationVersionRecord{DocumentationVersion: model.DocumentationVersion{Version: v, CreatedDate: a.now().Unix(), Description: in.Description}}
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		parts, err := a.loadDocParts(ctx, tx, apiID)
		if err != nil {
			return err
		}
		rec.Parts = make([]model.DocumentationPart, len(parts))
		for i, p := range parts {
			rec.Parts[i] = *p
		}
		if in.StageName != "" {
			st := new(model.Stage)
			key := model.ChildKey(apiID, in.StageName)
			if err := getJSON(ctx, tx, model.KindStage, key, st, errNoStage); err != nil {
				return err
			}
			st.DocumentationVersion = v
			st.LastUpdatedDate = rec.CreatedDate
			if err := putJSON(ctx, tx, model.KindStage, key, st); err != nil {
				return err
			}
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		err = tx.Create(ctx, model.KindDocumentationVersion, model.ChildKey(apiID, v), b)
		if errors.Is(err, store.ErrExists) {
			return conflict("Documentation version already exists: %s", v)
		}
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, &rec.DocumentationVersion, nil
}

func (a *API) getDocumentationVersion(r *http.Request, _ []byte) (int, any, error) {
	rec, err := a.loadDocVersion(r.Context(), a.Store, r.PathValue("api"), r.PathValue("version"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, &rec.DocumentationVersion, nil
}

func (a *API) getDocumentationVersions(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID := r.PathValue("api")
	if _, err := a.loadRestApi(ctx, a.Store, apiID); err != nil {
		return 0, nil, err
	}
	recs, err := listJSON[model.DocumentationVersionRecord](ctx, a.Store, model.KindDocumentationVersion, model.ApiPrefix(apiID))
	if err != nil {
		return 0, nil, err
	}
	vs := make([]*model.DocumentationVersion, len(recs))
	for i, rec := range recs {
		vs[i] = &rec.DocumentationVersion
	}
	pg, err := paginate(r, vs, func(v *model.DocumentationVersion) string { return v.Version })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, pg, nil
}

func (a *API) updateDocumentationVersion(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateDocumentationVersionInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	var rec *model.DocumentationVersionRecord
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if rec, err = a.loadDocVersion(ctx, tx, apiID, r.PathValue("version")); err != nil {
			return err
		}
		for _, op := range ops {
			if op.Path != "/description" {
				return errPatchPath(op)
			}
			if err := patchString(op, &rec.Description); err != nil {
				return err
			}
		}
		return putJSON(ctx, tx, model.KindDocumentationVersion, model.ChildKey(apiID, rec.Version), rec)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, &rec.DocumentationVersion, nil
}

func (a *API) deleteDocumentationVersion(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, v := r.PathValue("api"), r.PathValue("version")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadRestApi(ctx, tx, apiID); err != nil {
			return err
		}
		err := tx.Delete(ctx, model.KindDocumentationVersion, model.ChildKey(apiID, v))
		if errors.Is(err, store.ErrNotFound) {
			return errNoDocVersion(v)
		}
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}
