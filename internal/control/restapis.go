package control

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/policy"
	"github.com/apigw/apigw/internal/store"
)

type createRestApiInput struct {
	Name                      string                       `json:"name"`
	Description               string                       `json:"description"`
	Version                   string                       `json:"version"`
	CloneFrom                 string                       `json:"cloneFrom"`
	BinaryMediaTypes          []string                     `json:"binaryMediaTypes"`
	MinimumCompressionSize    *int64                       `json:"minimumCompressionSize"`
	ApiKeySource              string                       `json:"apiKeySource"`
	EndpointConfiguration     *model.EndpointConfiguration `json:"endpointConfiguration"`
	Policy                    string                       `json:"policy"`
	Tags                      map[string]string            `json:"tags"`
	DisableExecuteApiEndpoint bool                         `json:"disableExecuteApiEndpoint"`
	EndpointAccessMode        string                       `json:"endpointAccessMode"`
	SecurityPolicy            string                       `json:"securityPolicy"`
}

var endpointTypes = map[string]bool{"EDGE": true, "REGIONAL": true, "PRIVATE": true}

func validateRestApi(api *model.RestApi) error {
	if strings.TrimSpace(api.Name) == "" {
		return badRequest("Invalid API name specified")
	}
	switch api.ApiKeySource {
	case "HEADER", "AUTHORIZER":
	default:
		return badRequest("Invalid API key source specified: %s. Valid values: HEADER, AUTHORIZER", api.ApiKeySource)
	}
	if ec := api.EndpointConfiguration; ec != nil {
		if len(ec.Types) != 1 || !endpointTypes[ec.Types[0]] {
			return badRequest("Invalid endpoint configuration: exactly one of EDGE, REGIONAL or PRIVATE is required")
		}
		if len(ec.VpcEndpointIds) > 0 && ec.Types[0] != "PRIVATE" {
			return badRequest("VPC endpoint IDs are only allowed for PRIVATE APIs")
		}
		if ec.Types[0] == "PRIVATE" && ec.IPAddressType == "ipv4" {
			return badRequest("Only dualstack ipAddressType is supported for Private APIs.")
		}
	}
	if api.MinimumCompressionSize != nil && (*api.MinimumCompressionSize < 0 || *api.MinimumCompressionSize > 10485760) {
		return badRequest("Invalid minimum compression size, must be between 0 and 10485760")
	}
	if api.Policy == "" {
		return nil
	}
	// Only the syntax is checked here; the data plane expands the shorthand
	// with the real region and account.
	expanded := model.ExpandPolicy(api.Policy, "us-east-1", "000000000000", api.ID)
	if _, err := policy.ParseWith([]byte(expanded), policy.ParseOptions{RequirePrincipal: true}); err != nil {
		return badRequest("Invalid policy document. Please check the policy syntax and try again.")
	}
	return nil
}

// defaultEndpointConfiguration checks a new API's endpoint configuration
// with AWS's texts and fills in AWS's defaults: EDGE, and the IP address
// type (dualstack for PRIVATE APIs, ipv4 otherwise).
func defaultEndpointConfiguration(api *model.RestApi) error {
	ec := api.EndpointConfiguration
	if ec == nil {
		ec = &model.EndpointConfiguration{}
		api.EndpointConfiguration = ec
	}
	var bad []string
	for _, t := range ec.Types {
		if !endpointTypes[t] {
			bad = append(bad, fmt.Sprintf("Value '[%s]' at 'createRestApiInput.endpointConfiguration.types' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [PRIVATE, EDGE, REGIONAL]]", strings.Join(ec.Types, ", ")))
			break
		}
	}
	switch ec.IPAddressType {
	case "", "ipv4", "dualstack":
	default:
		bad = append(bad, fmt.Sprintf("Value '%s' at 'createRestApiInput.endpointConfiguration.ipAddressType' failed to satisfy constraint: Member must satisfy enum value set: [ipv4, dualstack]", ec.IPAddressType))
	}
	if err := validationErrors(bad); err != nil {
		return err
	}
	switch {
	case ec.Types == nil:
		ec.Types = []string{"EDGE"}
	case len(ec.Types) == 0:
		return badRequest("REGIONAL Configuration and EDGE Configuration cannot be both DISABLED.")
	case len(ec.Types) > 1:
		return badRequest("Cannot create an api with multiple Endpoint Types.")
	}
	if ec.IPAddressType == "" {
		ec.IPAddressType = "ipv4"
		if ec.Types[0] == "PRIVATE" {
			ec.IPAddressType = "dualstack"
		}
	}
	return nil
}

func (a *API) createRestApi(r *http.Request, body []byte) (int, any, error) {
	if r.URL.Query().Get("mode") == "import" {
		return a.importRestApi(r, body)
	}
	var in createRestApiInput
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	api := &model.RestApi{
		ID:                        newID(10),
		Name:                      in.Name,
		Description:               in.Description,
		CreatedDate:               a.now().Unix(),
		Version:                   in.Version,
		BinaryMediaTypes:          in.BinaryMediaTypes,
		MinimumCompressionSize:    in.MinimumCompressionSize,
		ApiKeySource:              in.ApiKeySource,
		EndpointConfiguration:     in.EndpointConfiguration,
		Policy:                    in.Policy,
		Tags:                      in.Tags,
		DisableExecuteApiEndpoint: in.DisableExecuteApiEndpoint,
		EndpointAccessMode:        in.EndpointAccessMode,
		SecurityPolicy:            in.SecurityPolicy,
		ApiStatus:                 "AVAILABLE",
	}
	if api.ApiKeySource == "" {
		api.ApiKeySource = "HEADER"
	}
	if err := defaultEndpointConfiguration(api); err != nil {
		return 0, nil, err
	}
	if err := validateRestApi(api); err != nil {
		return 0, nil, err
	}
	var resources []*model.Resource
	var models []*model.Model
	var validators []*model.RequestValidator
	if in.CloneFrom != "" {
		var src model.RestApi
		if err := getJSON(ctx, a.Store, model.KindRestApi, in.CloneFrom, &src, a.errNoAPI(in.CloneFrom)); err != nil {
			return 0, nil, err
		}
		var err error
		if resources, err = listJSON[model.Resource](ctx, a.Store, model.KindResource, model.ApiPrefix(src.ID)); err != nil {
			return 0, nil, err
		}
		if models, err = a.listModels(ctx, a.Store, src.ID); err != nil {
			return 0, nil, err
		}
		if validators, err = listJSON[model.RequestValidator](ctx, a.Store, model.KindValidator, model.ApiPrefix(src.ID)); err != nil {
			return 0, nil, err
		}
		cloneResources(resources)
		cloneModels(models, validators, resources, src.ID, api.ID)
		for _, res := range resources {
			if res.Path == "/" {
				api.RootResourceID = res.ID
			}
		}
	} else {
		root := &model.Resource{ID: newID(10), Path: "/"}
		api.RootResourceID = root.ID
		resources = []*model.Resource{root}
		models = defaultModels()
	}
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		b, _ := json.Marshal(api)
		if err := tx.Create(ctx, model.KindRestApi, api.ID, b); err != nil {
			return err
		}
		for _, res := range resources {
			if err := putJSON(ctx, tx, model.KindResource, model.ChildKey(api.ID, res.ID), res); err != nil {
				return err
			}
		}
		for _, m := range models {
			if err := putJSON(ctx, tx, model.KindModel, model.ChildKey(api.ID, m.Name), m); err != nil {
				return err
			}
		}
		for _, v := range validators {
			if err := putJSON(ctx, tx, model.KindValidator, model.ChildKey(api.ID, v.ID), v); err != nil {
				return err
			}
		}
		if in.CloneFrom != "" {
			return cloneGatewayResponses(ctx, tx, in.CloneFrom, api.ID)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, api, nil
}

// cloneResources gives resources fresh ids, keeping the tree's shape.
func cloneResources(resources []*model.Resource) {
	ids := make(map[string]string, len(resources))
	for _, res := range resources {
		ids[res.ID] = newID(10)
	}
	for _, res := range resources {
		res.ID = ids[res.ID]
		if res.ParentID != "" {
			res.ParentID = ids[res.ParentID]
		}
	}
}

// cloneModels gives a clone's models and request validators fresh ids, and
// points $refs to the source's models and the methods' validators at the
// clone's own.
func cloneModels(models []*model.Model, validators []*model.RequestValidator, resources []*model.Resource, srcID, dstID string) {
	for _, m := range models {
		m.ID = newID(6)
		m.Schema = strings.ReplaceAll(m.Schema, model.ModelURL(srcID, ""), model.ModelURL(dstID, ""))
	}
	ids := make(map[string]string, len(validators))
	for _, v := range validators {
		ids[v.ID] = newID(6)
		v.ID = ids[v.ID]
	}
	for _, res := range resources {
		for _, m := range res.ResourceMethods {
			if m.RequestValidatorID != "" {
				m.RequestValidatorID = ids[m.RequestValidatorID]
			}
		}
	}
}

func (a *API) loadRestApi(ctx context.Context, rd store.Reader, id string) (*model.RestApi, error) {
	api := new(model.RestApi)
	if err := getJSON(ctx, rd, model.KindRestApi, id, api, a.errNoAPI(id)); err != nil {
		return nil, err
	}
	return api, nil
}

func (a *API) getRestApi(r *http.Request, _ []byte) (int, any, error) {
	api, err := a.loadRestApi(r.Context(), a.Store, r.PathValue("api"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api, nil
}

func (a *API) getRestApis(r *http.Request, _ []byte) (int, any, error) {
	apis, err := listJSON[model.RestApi](r.Context(), a.Store, model.KindRestApi, "")
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(r, apis, func(x *model.RestApi) string { return x.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateRestApi(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateRestApiInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	var api *model.RestApi
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if api, err = a.loadRestApi(ctx, tx, r.PathValue("api")); err != nil {
			return err
		}
		if err := applyOps(ops, api, patchRestApi); err != nil {
			return err
		}
		if err := validateRestApi(api); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindRestApi, api.ID, api)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api, nil
}

func patchRestApi(api *model.RestApi, op PatchOp) error {
	s := op.Segs
	switch {
	case len(s) == 1 && s[0] == "name":
		return patchString(op, &api.Name)
	case len(s) == 1 && s[0] == "description":
		return patchString(op, &api.Description)
	case len(s) == 1 && s[0] == "version":
		return patchString(op, &api.Version)
	case len(s) == 1 && s[0] == "apiKeySource":
		return patchString(op, &api.ApiKeySource)
	case len(s) == 1 && s[0] == "policy":
		return patchString(op, &api.Policy)
	case len(s) == 1 && s[0] == "disableExecuteApiEndpoint":
		return patchBool(op, &api.DisableExecuteApiEndpoint)
	case len(s) == 1 && s[0] == "minimumCompressionSize":
		// AWS takes replace only; an empty or missing value turns
		// compression off.
		if op.Op != "replace" {
			return errReplaceOnly
		}
		if op.value() == "" {
			api.MinimumCompressionSize = nil
			return nil
		}
		n, err := strconv.ParseInt(op.value(), 10, 64)
		if err != nil {
			return badRequest("Invalid minimum compression size, must be between 0 and 10485760")
		}
		api.MinimumCompressionSize = &n
		return nil
	case len(s) == 2 && s[0] == "binaryMediaTypes":
		if op.Op == "replace" {
			// AWS removes the old value and appends the new one.
			if !slices.Contains(api.BinaryMediaTypes, s[1]) {
				return badRequest("Invalid patch path '%s': no such value", op.Path)
			}
			api.BinaryMediaTypes = slices.DeleteFunc(api.BinaryMediaTypes, func(v string) bool { return v == s[1] })
			add := op
			add.Op = "add"
			return patchList(add, &api.BinaryMediaTypes, op.value())
		}
		return patchList(op, &api.BinaryMediaTypes, s[1])
	case len(s) == 3 && s[0] == "endpointConfiguration" && s[1] == "types" && op.Op == "replace":
		if !endpointTypes[op.value()] {
			return badRequest("Invalid EndpointTypes specified. Valid options are REGIONAL,EDGE,PRIVATE")
		}
		if api.EndpointConfiguration == nil {
			api.EndpointConfiguration = &model.EndpointConfiguration{}
		}
		api.EndpointConfiguration.Types = []string{op.value()}
		// A private API is dualstack only.
		if op.value() == "PRIVATE" {
			api.EndpointConfiguration.IPAddressType = "dualstack"
		}
		return nil
	case len(s) == 2 && s[0] == "endpointConfiguration" && s[1] == "ipAddressType":
		if op.Op != "replace" {
			return errReplaceOnly
		}
		switch op.value() {
		case "ipv4", "dualstack":
		default:
			return badRequest("ipAddressType must be either ipv4 or dualstack.")
		}
		if api.EndpointConfiguration == nil {
			api.EndpointConfiguration = &model.EndpointConfiguration{Types: []string{"EDGE"}}
		}
		api.EndpointConfiguration.IPAddressType = op.value()
		return nil
	case len(s) == 2 && s[0] == "endpointConfiguration" && s[1] == "vpcEndpointIds":
		if api.EndpointConfiguration == nil {
			api.EndpointConfiguration = &model.EndpointConfiguration{}
		}
		ec := api.EndpointConfiguration
		each := op
		switch op.Op {
		case "replace":
			ec.VpcEndpointIds = nil
			each.Op = "add"
		case "add", "remove":
		default:
			return errPatchPath(op)
		}
		for _, id := range strings.Split(op.value(), ",") {
			if id = strings.TrimSpace(id); id != "" {
				if err := patchList(each, &ec.VpcEndpointIds, id); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return errPatchPath(op)
}

func (a *API) deleteRestApi(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	id := r.PathValue("api")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete(ctx, model.KindRestApi, id); err != nil {
			if err == store.ErrNotFound {
				return a.errNoAPI(id)
			}
			return err
		}
		for _, kind := range []string{model.KindResource, model.KindDeployment, model.KindSnapshot, model.KindStage, model.KindAuthorizer, model.KindGatewayResponse, model.KindModel, model.KindValidator, model.KindDocumentationPart, model.KindDocumentationVersion} {
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
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}
