package control

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// Gateway responses: an API has one of every type. A type nobody
// customised is AWS's default (defaultResponse true) and has no record;
// Put and Update write a record, Delete removes it.

// responseTypeViolation is AWS's constraint violation text for a response
// type in the request path that is not one, or "" when it is fine.
func responseTypeViolation(t string) string {
	if fault.Type(t).Index() >= 0 {
		return ""
	}
	names := make([]string, len(fault.Types))
	for i, d := range fault.Types {
		names[i] = string(d.Type)
	}
	return fmt.Sprintf("Value '%s' at 'responseType' failed to satisfy constraint: Member must satisfy enum value set: [%s]", t, strings.Join(names, ", "))
}

func responseType(r *http.Request) (string, error) {
	t := r.PathValue("type")
	if v := responseTypeViolation(t); v != "" {
		return "", validationErrors([]string{v})
	}
	return t, nil
}

// defaultGatewayResponse is the response AWS creates for type t.
func defaultGatewayResponse(t string) *model.GatewayResponse {
	return &model.GatewayResponse{
		ResponseType:       t,
		StatusCode:         fault.Types[fault.Type(t).Index()].Status,
		ResponseParameters: map[string]string{},
		ResponseTemplates:  map[string]string{"application/json": fault.DefaultTemplate},
		DefaultResponse:    true,
	}
}

// validateGatewayResponse checks what a Put or an Update would store.
func validateGatewayResponse(gr *model.GatewayResponse) error {
	if gr.StatusCode != "" && !statusCodeRE.MatchString(gr.StatusCode) {
		return validationErrors([]string{fmt.Sprintf(`Value '%s' at 'statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [1-5]\d\d`, gr.StatusCode)})
	}
	for _, k := range sortedKeys(gr.ResponseParameters) {
		name, ok := strings.CutPrefix(k, "gatewayresponse.header.")
		if !ok || !validHeaderName(name) {
			return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression parameter specified: %s]", k)
		}
		if v := gr.ResponseParameters[k]; !validGatewayResponseSource(v) {
			return badRequest("Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression specified: %s]", v)
		}
	}
	for ct := range gr.ResponseTemplates {
		if strings.TrimSpace(ct) == "" {
			return badRequest("Invalid content type specified: %s", ct)
		}
	}
	return nil
}

// validHeaderName accepts an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validGatewayResponseSource accepts what a gateway response header may be
// mapped from: a 'literal', method.request.{path|querystring|
// multivaluequerystring|header|multivalueheader}.{name}, stageVariables.{name}
// or context.{name}.
func validGatewayResponseSource(v string) bool {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return true
	}
	if rest, ok := strings.CutPrefix(v, "method.request."); ok {
		loc, name, ok := strings.Cut(rest, ".")
		if !ok || name == "" {
			return false
		}
		switch loc {
		case "path", "querystring", "multivaluequerystring", "header", "multivalueheader":
			return true
		}
		return false
	}
	for _, p := range []string{"stageVariables.", "context."} {
		if name, ok := strings.CutPrefix(v, p); ok {
			return name != "" && !strings.ContainsAny(name, " \t,")
		}
	}
	return false
}

// loadGatewayResponse returns the API's response of type t, customised or
// default.
func (a *API) loadGatewayResponse(ctx context.Context, rd store.Reader, apiID, t string) (*model.GatewayResponse, error) {
	if _, err := a.loadRestApi(ctx, rd, apiID); err != nil {
		return nil, err
	}
	gr := new(model.GatewayResponse)
	err := getJSON(ctx, rd, model.KindGatewayResponse, model.ChildKey(apiID, t), gr, store.ErrNotFound)
	switch {
	case err == store.ErrNotFound:
		return defaultGatewayResponse(t), nil
	case err != nil:
		return nil, err
	}
	fillGatewayResponse(gr)
	return gr, nil
}

// fillGatewayResponse gives a stored response the empty maps AWS answers
// with.
func fillGatewayResponse(gr *model.GatewayResponse) {
	if gr.ResponseParameters == nil {
		gr.ResponseParameters = map[string]string{}
	}
	if gr.ResponseTemplates == nil {
		gr.ResponseTemplates = map[string]string{}
	}
}

func (a *API) putGatewayResponse(r *http.Request, body []byte) (int, any, error) {
	t, err := responseType(r)
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		StatusCode         string            `json:"statusCode"`
		ResponseParameters map[string]string `json:"responseParameters"`
		ResponseTemplates  map[string]string `json:"responseTemplates"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	// What the request leaves out is the type's default, as AWS stores it.
	gr := defaultGatewayResponse(t)
	gr.DefaultResponse = false
	if in.StatusCode != "" {
		gr.StatusCode = in.StatusCode
	}
	if in.ResponseParameters != nil {
		gr.ResponseParameters = in.ResponseParameters
	}
	if len(in.ResponseTemplates) > 0 {
		gr.ResponseTemplates = in.ResponseTemplates
	}
	if err := validateGatewayResponse(gr); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadRestApi(ctx, tx, apiID); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindGatewayResponse, model.ChildKey(apiID, t), gr)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, gr, nil
}

func (a *API) getGatewayResponse(r *http.Request, _ []byte) (int, any, error) {
	t, err := responseType(r)
	if err != nil {
		return 0, nil, err
	}
	gr, err := a.loadGatewayResponse(r.Context(), a.Store, r.PathValue("api"), t)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, gr, nil
}

// getGatewayResponses lists every type, customised or not, paged by type
// name.
func (a *API) getGatewayResponses(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID := r.PathValue("api")
	if _, err := a.loadRestApi(ctx, a.Store, apiID); err != nil {
		return 0, nil, err
	}
	stored, err := listJSON[model.GatewayResponse](ctx, a.Store, model.KindGatewayResponse, model.ApiPrefix(apiID))
	if err != nil {
		return 0, nil, err
	}
	var all [fault.NumTypes]*model.GatewayResponse
	for _, gr := range stored {
		if i := fault.Type(gr.ResponseType).Index(); i >= 0 {
			fillGatewayResponse(gr)
			all[i] = gr
		}
	}
	list := make([]*model.GatewayResponse, 0, len(all))
	for i, gr := range all {
		if gr == nil {
			gr = defaultGatewayResponse(string(fault.Types[i].Type))
		}
		list = append(list, gr)
	}
	p, err := paginate(r, list, func(x *model.GatewayResponse) string { return x.ResponseType })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateGatewayResponse(r *http.Request, body []byte) (int, any, error) {
	t := r.PathValue("type")
	var ops []PatchOp
	var err error
	if v := responseTypeViolation(t); v != "" {
		ops, err = parsePatch(body, "updateGatewayResponseInput", v)
	} else {
		ops, err = parsePatch(body, "updateGatewayResponseInput")
	}
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	var gr *model.GatewayResponse
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if gr, err = a.loadGatewayResponse(ctx, tx, apiID, t); err != nil {
			return err
		}
		if err := applyOps(ops, gr, patchGatewayResponse); err != nil {
			return err
		}
		if err := validateGatewayResponse(gr); err != nil {
			return err
		}
		gr.DefaultResponse = false
		return putJSON(ctx, tx, model.KindGatewayResponse, model.ChildKey(apiID, t), gr)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, gr, nil
}

func patchGatewayResponse(gr *model.GatewayResponse, op PatchOp) error {
	s := op.Segs
	switch {
	case len(s) == 1 && s[0] == "statusCode":
		return patchString(op, &gr.StatusCode)
	case len(s) == 2 && s[0] == "responseParameters":
		return patchMap(op, &gr.ResponseParameters, s[1])
	case len(s) == 2 && s[0] == "responseTemplates":
		return patchMap(op, &gr.ResponseTemplates, s[1])
	}
	return errPatchPath(op)
}

func (a *API) deleteGatewayResponse(r *http.Request, _ []byte) (int, any, error) {
	t, err := responseType(r)
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadRestApi(ctx, tx, apiID); err != nil {
			return err
		}
		// Deleting a default response resets nothing and is no error.
		if err := tx.Delete(ctx, model.KindGatewayResponse, model.ChildKey(apiID, t)); err != nil && err != store.ErrNotFound {
			return err
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// cloneGatewayResponses copies the customised responses of API src to dst
// (createRestApi with cloneFrom).
func cloneGatewayResponses(ctx context.Context, tx store.Tx, src, dst string) error {
	items, err := tx.List(ctx, model.KindGatewayResponse, model.ApiPrefix(src))
	if err != nil {
		return err
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Key < items[j].Key })
	for _, it := range items {
		t := strings.TrimPrefix(it.Key, model.ApiPrefix(src))
		if err := tx.Put(ctx, model.KindGatewayResponse, model.ChildKey(dst, t), it.Value); err != nil {
			return err
		}
	}
	return nil
}
