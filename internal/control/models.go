package control

import (
	"context"
	"errors"
	"net/http"
	"regexp"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/schema"
	"github.com/apigw/apigw/internal/store"
)

// The models AWS creates with every new API, with its texts and layout.
const (
	emptySchema = "{\n  \"$schema\": \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Empty Schema\",\n  \"type\" : \"object\"\n}"
	errorSchema = "{\n  \"$schema\" : \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Error Schema\",\n  \"type\" : \"object\",\n  \"properties\" : {\n    \"message\" : { \"type\" : \"string\" }\n  }\n}"
)

func defaultModels() []*model.Model {
	return []*model.Model{
		{ID: newID(6), Name: "Empty", Description: "This is a default empty schema model", Schema: emptySchema, ContentType: "application/json"},
		{ID: newID(6), Name: "Error", Description: "This is a default error schema model", Schema: errorSchema, ContentType: "application/json"},
	}
}

var modelNameRE = regexp.MustCompile(`^[a-zA-Z0-9]+$`)

func errNoModel(name string) *Error { return notFound("Invalid model name specified: %s", name) }

var errNoValidator = notFound("Invalid Request Validator identifier specified")

// checkModel refuses a schema that is not a draft 4 JSON Schema, or whose
// $ref names a model the API does not have.
func checkModel(apiID string, m *model.Model, others []*model.Model) error {
	if m.Schema == "" {
		return badRequest("Model schema must have at least 1 property or array items defined")
	}
	all := []*model.Model{m}
	for _, o := range others {
		if o.Name != m.Name {
			all = append(all, o)
		}
	}
	return checkModelIn(schema.NewSet(apiID, all), m)
}

// checkModelIn checks the model m of set, whose compiled models it
// reuses: an import checks each of its models in one set, so the work is
// linear in the models, however they refer to each other.
func checkModelIn(set *schema.Set, m *model.Model) error {
	if m.Schema == "" {
		return badRequest("Model schema must have at least 1 property or array items defined")
	}
	if _, err := set.Compile(m.Name); err != nil {
		return badRequest("Invalid model specified: Validation Result: warnings : [], errors : [Invalid model schema specified]")
	}
	return nil
}

func (a *API) listModels(ctx context.Context, rd store.Reader, apiID string) ([]*model.Model, error) {
	return listJSON[model.Model](ctx, rd, model.KindModel, model.ApiPrefix(apiID))
}

func (a *API) createModel(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Schema      string `json:"schema"`
		ContentType string `json:"contentType"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if in.Name == "" {
		return 0, nil, badRequest("Model name must be non-empty")
	}
	if !modelNameRE.MatchString(in.Name) {
		return 0, nil, badRequest("Model name must be alphanumeric")
	}
	if in.ContentType == "" {
		return 0, nil, badRequest("Content type must be non-empty")
	}
	m := &model.Model{ID: newID(6), Name: in.Name, Description: in.Description, Schema: in.Schema, ContentType: in.ContentType}
	ctx := r.Context()
	apiID := r.PathValue("api")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadRestApi(ctx, tx, apiID); err != nil {
			return err
		}
		others, err := a.listModels(ctx, tx, apiID)
		if err != nil {
			return err
		}
		for _, o := range others {
			if o.Name == m.Name {
				return conflict("Model name already exists for this REST API")
			}
		}
		if err := checkModel(apiID, m, others); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindModel, model.ChildKey(apiID, m.Name), m)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, m, nil
}

func (a *API) loadModel(ctx context.Context, rd store.Reader, apiID, name string) (*model.Model, error) {
	return loadChild[model.Model](ctx, a, rd, model.KindModel, apiID, name, errNoModel(name))
}

func (a *API) getModel(r *http.Request, _ []byte) (int, any, error) {
	m, err := a.loadModel(r.Context(), a.Store, r.PathValue("api"), r.PathValue("model"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, m, nil
}

func (a *API) getModels(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID := r.PathValue("api")
	if _, err := a.loadRestApi(ctx, a.Store, apiID); err != nil {
		return 0, nil, err
	}
	list, err := a.listModels(ctx, a.Store, apiID)
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(r, list, func(x *model.Model) string { return x.Name })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateModel(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateModelInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID, name := r.PathValue("api"), r.PathValue("model")
	var m *model.Model
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if m, err = a.loadModel(ctx, tx, apiID, name); err != nil {
			return err
		}
		for _, op := range ops {
			if op.Op != "replace" {
				return badRequest("Invalid patch path  '%s' specified for op '%s'. Please choose supported operations", op.Path, op.Op)
			}
			switch op.Path {
			case "/schema":
				m.Schema = op.value()
			case "/description":
				m.Description = op.value()
			default:
				return badRequest("Invalid patch path  '%s' specified for op 'replace'. Must be one of: [/description, /schema]", op.Path)
			}
		}
		others, err := a.listModels(ctx, tx, apiID)
		if err != nil {
			return err
		}
		if err := checkModel(apiID, m, others); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindModel, model.ChildKey(apiID, name), m)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, m, nil
}

func (a *API) deleteModel(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, name := r.PathValue("api"), r.PathValue("model")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadModel(ctx, tx, apiID, name); err != nil {
			return err
		}
		t, err := a.loadTree(ctx, tx, apiID)
		if err != nil {
			return err
		}
		for _, id := range sortedKeys(t.byID) {
			res := t.byID[id]
			for _, verb := range sortedKeys(res.ResourceMethods) {
				for _, used := range res.ResourceMethods[verb].RequestModels {
					if used == name {
						return conflict("Cannot delete model '%s', is referenced in method request: %s/%s", name, res.Path, verb)
					}
				}
			}
		}
		return tx.Delete(ctx, model.KindModel, model.ChildKey(apiID, name))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

func (a *API) getModelTemplate(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, name := r.PathValue("api"), r.PathValue("model")
	if _, err := a.loadModel(ctx, a.Store, apiID, name); err != nil {
		return 0, nil, err
	}
	models, err := a.listModels(ctx, a.Store, apiID)
	if err != nil {
		return 0, nil, err
	}
	tpl, err := schema.NewSet(apiID, models).Template(name)
	if errors.Is(err, schema.ErrNoModel) {
		return 0, nil, errNoModel(name)
	}
	if err != nil {
		return 0, nil, badRequest("Invalid model specified: Validation Result: warnings : [], errors : [Invalid model schema specified]")
	}
	return http.StatusOK, map[string]string{"value": tpl}, nil
}

// Request validators.

func (a *API) createRequestValidator(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		Name                      string `json:"name"`
		ValidateRequestBody       bool   `json:"validateRequestBody"`
		ValidateRequestParameters bool   `json:"validateRequestParameters"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	v := &model.RequestValidator{ID: newID(6), Name: in.Name, ValidateRequestBody: in.ValidateRequestBody, ValidateRequestParameters: in.ValidateRequestParameters}
	ctx := r.Context()
	apiID := r.PathValue("api")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadRestApi(ctx, tx, apiID); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindValidator, model.ChildKey(apiID, v.ID), v)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, v, nil
}

func (a *API) loadValidator(ctx context.Context, rd store.Reader, apiID, id string) (*model.RequestValidator, error) {
	return loadChild[model.RequestValidator](ctx, a, rd, model.KindValidator, apiID, id, errNoValidator)
}

func (a *API) getRequestValidator(r *http.Request, _ []byte) (int, any, error) {
	v, err := a.loadValidator(r.Context(), a.Store, r.PathValue("api"), r.PathValue("validator"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

func (a *API) getRequestValidators(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID := r.PathValue("api")
	if _, err := a.loadRestApi(ctx, a.Store, apiID); err != nil {
		return 0, nil, err
	}
	list, err := listJSON[model.RequestValidator](ctx, a.Store, model.KindValidator, model.ApiPrefix(apiID))
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(r, list, func(x *model.RequestValidator) string { return x.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateRequestValidator(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateRequestValidatorInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID, id := r.PathValue("api"), r.PathValue("validator")
	var v *model.RequestValidator
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if v, err = a.loadValidator(ctx, tx, apiID, id); err != nil {
			return err
		}
		for _, op := range ops {
			if op.Op != "replace" {
				return badRequest("Invalid patch path  '%s' specified for op '%s'. Please choose supported operations", op.Path, op.Op)
			}
			switch op.Path {
			case "/name":
				if op.value() == "" {
					return badRequest("Request Validator name cannot be blank")
				}
				v.Name = op.value()
			case "/validateRequestBody":
				v.ValidateRequestBody = op.value() == "true"
			case "/validateRequestParameters":
				v.ValidateRequestParameters = op.value() == "true"
			default:
				return badRequest("Invalid patch path  '%s' specified for op 'replace'. Must be one of: [/name, /validateRequestParameters, /validateRequestBody]", op.Path)
			}
		}
		return putJSON(ctx, tx, model.KindValidator, model.ChildKey(apiID, id), v)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

func (a *API) deleteRequestValidator(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, id := r.PathValue("api"), r.PathValue("validator")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadValidator(ctx, tx, apiID, id); err != nil {
			return err
		}
		return tx.Delete(ctx, model.KindValidator, model.ChildKey(apiID, id))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// checkMethodRefs refuses a method whose request validator or request
// models the API does not have, as AWS does when the method is written.
func (a *API) checkMethodRefs(ctx context.Context, rd store.Reader, apiID string, m *model.Method) error {
	if m.RequestValidatorID != "" {
		if _, err := rd.Get(ctx, model.KindValidator, model.ChildKey(apiID, m.RequestValidatorID)); errors.Is(err, store.ErrNotFound) {
			return badRequest("Invalid Request Validator identifier specified")
		} else if err != nil {
			return err
		}
	}
	for _, ct := range sortedKeys(m.RequestModels) {
		name := m.RequestModels[ct]
		if _, err := rd.Get(ctx, model.KindModel, model.ChildKey(apiID, name)); errors.Is(err, store.ErrNotFound) {
			return badRequest("Invalid model identifier specified: %s", name)
		} else if err != nil {
			return err
		}
	}
	return nil
}
