package control

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// pathPartRE is what AWS allows in a path part: a literal, {name} or {name+}.
var pathPartRE = regexp.MustCompile(`^(?:[a-zA-Z0-9._:-]+|\{[a-zA-Z0-9._:-]+\+?\})$`)

const errPathPart = "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace."

// apiTree is every resource of one API, loaded for a change that may touch
// several of them.
type apiTree struct {
	api  *model.RestApi
	byID map[string]*model.Resource
}

func (a *API) loadTree(ctx context.Context, rd store.Reader, apiID string) (*apiTree, error) {
	api, err := a.loadRestApi(ctx, rd, apiID)
	if err != nil {
		return nil, err
	}
	list, err := listJSON[model.Resource](ctx, rd, model.KindResource, model.ApiPrefix(apiID))
	if err != nil {
		return nil, err
	}
	t := &apiTree{api: api, byID: make(map[string]*model.Resource, len(list))}
	for _, res := range list {
		t.byID[res.ID] = res
	}
	return t, nil
}

func (t *apiTree) children(id string) []*model.Resource {
	var out []*model.Resource
	for _, res := range t.byID {
		if res.ParentID == id {
			out = append(out, res)
		}
	}
	return out
}

// checkSibling enforces AWS's rules on the children of one parent: unique
// path parts, at most one variable child and at most one greedy child, and
// nothing below a greedy resource.
func (t *apiTree) checkSibling(parentID, pathPart, selfID string) error {
	parent := t.byID[parentID]
	if parent == nil {
		return errNoResource
	}
	if strings.HasSuffix(parent.PathPart, "+}") {
		return badRequest("Cannot create a child of a resource with a greedy path variable: %s", parent.PathPart)
	}
	isVar := strings.HasPrefix(pathPart, "{")
	for _, sib := range t.children(parentID) {
		if sib.ID == selfID {
			continue
		}
		if sib.PathPart == pathPart {
			return conflict("Another resource with the same parent already has this name: %s", pathPart)
		}
		if isVar && strings.HasPrefix(sib.PathPart, "{") {
			return badRequest("A sibling (%s) of this resource already has a variable path part -- only one is allowed", sib.PathPart)
		}
	}
	return nil
}

// recomputePaths sets every resource's path from its parents'. It returns
// the resources whose path changed.
func (t *apiTree) recomputePaths() []*model.Resource {
	var changed []*model.Resource
	var walk func(id, path string)
	walk = func(id, path string) {
		for _, c := range t.children(id) {
			p := path + "/" + c.PathPart
			if path == "/" {
				p = "/" + c.PathPart
			}
			if c.Path != p {
				c.Path = p
				changed = append(changed, c)
			}
			walk(c.ID, p)
		}
	}
	walk(t.api.RootResourceID, "/")
	return changed
}

// resourceView is a resource as the API returns it: methods embedded in full
// only when asked (embed=methods), else as empty objects.
func resourceView(res *model.Resource, embed bool) any {
	if embed || len(res.ResourceMethods) == 0 {
		return res
	}
	v := struct {
		model.Resource
		ResourceMethods map[string]struct{} `json:"resourceMethods"`
	}{Resource: *res, ResourceMethods: map[string]struct{}{}}
	v.Resource.ResourceMethods = nil
	for m := range res.ResourceMethods {
		v.ResourceMethods[m] = struct{}{}
	}
	return v
}

func embedMethods(r *http.Request) bool {
	for _, e := range r.URL.Query()["embed"] {
		for _, part := range strings.Split(e, ",") {
			if part == "methods" {
				return true
			}
		}
	}
	return false
}

func (a *API) getResources(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID := r.PathValue("api")
	if _, err := a.loadRestApi(ctx, a.Store, apiID); err != nil {
		return 0, nil, err
	}
	list, err := listJSON[model.Resource](ctx, a.Store, model.KindResource, model.ApiPrefix(apiID))
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(r, list, func(x *model.Resource) string { return x.ID })
	if err != nil {
		return 0, nil, err
	}
	embed := embedMethods(r)
	items := p.Item.([]*model.Resource)
	views := make([]any, len(items))
	for i, res := range items {
		views[i] = resourceView(res, embed)
	}
	p.Item = views
	return http.StatusOK, p, nil
}

// loadResource reads one resource. An unknown API is an unknown resource
// here, as AWS answers for resource, method and integration calls.
func (a *API) loadResource(ctx context.Context, rd store.Reader, apiID, resID string) (*model.Resource, error) {
	if _, err := a.loadRestApi(ctx, rd, apiID); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusNotFound {
			return nil, errNoResource
		}
		return nil, err
	}
	res := new(model.Resource)
	if err := getJSON(ctx, rd, model.KindResource, model.ChildKey(apiID, resID), res, errNoResource); err != nil {
		return nil, err
	}
	return res, nil
}

func (a *API) getResource(r *http.Request, _ []byte) (int, any, error) {
	res, err := a.loadResource(r.Context(), a.Store, r.PathValue("api"), r.PathValue("res"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, resourceView(res, embedMethods(r)), nil
}

func (a *API) createResource(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		PathPart string `json:"pathPart"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if in.PathPart == "" {
		return 0, nil, badRequest("Resource's path part must be specified")
	}
	if !pathPartRE.MatchString(in.PathPart) {
		return 0, nil, badRequest(errPathPart)
	}
	ctx := r.Context()
	apiID, parentID := r.PathValue("api"), r.PathValue("res")
	res := &model.Resource{ID: newID(10), ParentID: parentID, PathPart: in.PathPart}
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		t, err := a.loadTree(ctx, tx, apiID)
		if err != nil {
			return err
		}
		if err := t.checkSibling(parentID, in.PathPart, ""); err != nil {
			return err
		}
		parent := t.byID[parentID]
		res.Path = strings.TrimSuffix(parent.Path, "/") + "/" + in.PathPart
		return putJSON(ctx, tx, model.KindResource, model.ChildKey(apiID, res.ID), res)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, res, nil
}

func (a *API) updateResource(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateResourceInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID, resID := r.PathValue("api"), r.PathValue("res")
	var res *model.Resource
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		t, err := a.loadTree(ctx, tx, apiID)
		if err != nil {
			return err
		}
		if res = t.byID[resID]; res == nil {
			return errNoResource
		}
		for _, op := range ops {
			if len(op.Segs) == 1 && (op.Segs[0] == "pathPart" || op.Segs[0] == "parentId") && op.Op != "replace" {
				return badRequest("Invalid patch path  '%s' specified for op '%s'. Please choose supported operations", op.Path, op.Op)
			}
			if res.ID == t.api.RootResourceID && len(op.Segs) == 1 && (op.Segs[0] == "pathPart" || op.Segs[0] == "parentId") {
				return badRequest("Root resource cannot update its %s.", op.Segs[0])
			}
			switch {
			case len(op.Segs) == 1 && op.Segs[0] == "pathPart" && op.Op == "replace":
				if !pathPartRE.MatchString(op.value()) {
					return badRequest(errPathPart)
				}
				if err := t.checkSibling(res.ParentID, op.value(), res.ID); err != nil {
					return err
				}
				res.PathPart = op.value()
			case len(op.Segs) == 1 && op.Segs[0] == "parentId" && op.Op == "replace":
				np := op.value()
				for p := t.byID[np]; p != nil; p = t.byID[p.ParentID] {
					if p.ID == res.ID {
						return badRequest("Resources cannot be cyclical.")
					}
				}
				if err := t.checkSibling(np, res.PathPart, res.ID); err != nil {
					return err
				}
				res.ParentID = np
			default:
				return badRequest("Invalid patch path  '%s' specified for op '%s'. Must be one of: [/parentId, /pathPart]", op.Path, op.Op)
			}
		}
		changed := t.recomputePaths()
		changed = append(changed, res)
		for _, c := range changed {
			if err := putJSON(ctx, tx, model.KindResource, model.ChildKey(apiID, c.ID), c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, resourceView(res, false), nil
}

func (a *API) deleteResource(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, resID := r.PathValue("api"), r.PathValue("res")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		t, err := a.loadTree(ctx, tx, apiID)
		if err != nil {
			return err
		}
		if t.byID[resID] == nil {
			return errNoResource
		}
		if resID == t.api.RootResourceID {
			return badRequest("Cannot delete root resource")
		}
		// Delete the subtree, deepest first so no orphan is ever visible.
		var ids []string
		var walk func(id string)
		walk = func(id string) {
			for _, c := range t.children(id) {
				walk(c.ID)
			}
			ids = append(ids, id)
		}
		walk(resID)
		for _, id := range ids {
			if err := tx.Delete(ctx, model.KindResource, model.ChildKey(apiID, id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// editResource loads a resource, lets fn change it, and writes it back, all
// in one transaction. fn's result is what the operation returns.
func (a *API) editResource(r *http.Request, fn func(res *model.Resource) (any, error)) (any, error) {
	return a.editResourceTx(r, func(_ store.Tx, res *model.Resource) (any, error) { return fn(res) })
}

// editResourceTx is editResource for an fn that reads other records of the
// API in the same transaction.
func (a *API) editResourceTx(r *http.Request, fn func(tx store.Tx, res *model.Resource) (any, error)) (any, error) {
	ctx := r.Context()
	apiID, resID := r.PathValue("api"), r.PathValue("res")
	var out any
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		res, err := a.loadResource(ctx, tx, apiID, resID)
		if err != nil {
			return err
		}
		if out, err = fn(tx, res); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindResource, model.ChildKey(apiID, resID), res)
	})
	return out, err
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
