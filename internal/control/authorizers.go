package control

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

var errNoAuthorizer = notFound("Invalid Authorizer identifier specified")

// identitySourceRE is one identity source of a Lambda authorizer.
var identitySourceRE = regexp.MustCompile(`^(method\.request\.(header|querystring|multivalueheader|multivaluequerystring)\.[^\s,]+|stageVariables\.[A-Za-z0-9_]+|context\.[A-Za-z0-9_.]+)$`)

func validateAuthorizer(au *model.Authorizer) error {
	if strings.TrimSpace(au.Name) == "" {
		return badRequest("Authorizer name must be specified")
	}
	switch au.Type {
	case "TOKEN", "REQUEST":
		if !strings.HasPrefix(au.AuthorizerURI, "arn:") || !strings.Contains(au.AuthorizerURI, ":lambda:path/") {
			return badRequest("Invalid Authorizer URI: %s. Authorizer URI should be a valid API Gateway ARN that represents a Lambda function invocation.", au.AuthorizerURI)
		}
	case "COGNITO_USER_POOLS":
		if len(au.ProviderARNs) == 0 {
			return badRequest("ProviderARNs need to be specified for authorizer of type COGNITO_USER_POOLS")
		}
	default:
		return validation("1 validation error detected: Value '%s' at 'createAuthorizerInput.type' failed to satisfy constraint: Member must satisfy enum value set: [TOKEN, REQUEST, COGNITO_USER_POOLS]", au.Type)
	}
	switch au.Type {
	case "TOKEN", "COGNITO_USER_POOLS":
		if !strings.HasPrefix(au.IdentitySource, "method.request.header.") || len(au.IdentitySource) == len("method.request.header.") {
			return badRequest("Invalid identity source specified: %s. Identity source for a %s authorizer must be a header (method.request.header.{name})", au.IdentitySource, au.Type)
		}
	case "REQUEST":
		if au.IdentitySource != "" {
			for _, src := range strings.Split(au.IdentitySource, ",") {
				if !identitySourceRE.MatchString(strings.TrimSpace(src)) {
					return badRequest("Invalid identity source specified: %s", strings.TrimSpace(src))
				}
			}
		}
	}
	if au.IdentityValidationExpression != "" {
		if _, err := regexp.Compile(au.IdentityValidationExpression); err != nil {
			return badRequest("Invalid identity validation expression specified: %s", au.IdentityValidationExpression)
		}
	}
	if t := au.AuthorizerResultTtlInSeconds; t != nil && (*t < 0 || *t > 3600) {
		return badRequest("Authorizer result TTL must be between 0 and 3600 seconds")
	}
	return nil
}

func (a *API) createAuthorizer(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		Name                         string   `json:"name"`
		Type                         string   `json:"type"`
		ProviderARNs                 []string `json:"providerARNs"`
		AuthType                     string   `json:"authType"`
		AuthorizerURI                string   `json:"authorizerUri"`
		AuthorizerCredentials        string   `json:"authorizerCredentials"`
		IdentitySource               string   `json:"identitySource"`
		IdentityValidationExpression string   `json:"identityValidationExpression"`
		AuthorizerResultTtlInSeconds *int64   `json:"authorizerResultTtlInSeconds"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	au := &model.Authorizer{ID: newID(6), Name: in.Name, Type: in.Type, ProviderARNs: in.ProviderARNs, AuthType: in.AuthType,
		AuthorizerURI: in.AuthorizerURI, AuthorizerCredentials: in.AuthorizerCredentials, IdentitySource: in.IdentitySource,
		IdentityValidationExpression: in.IdentityValidationExpression, AuthorizerResultTtlInSeconds: in.AuthorizerResultTtlInSeconds}
	if au.AuthorizerResultTtlInSeconds == nil {
		ttl := int64(300)
		au.AuthorizerResultTtlInSeconds = &ttl
	}
	if au.AuthType == "" && au.Type != "COGNITO_USER_POOLS" {
		au.AuthType = "custom"
	}
	if err := validateAuthorizer(au); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadRestApi(ctx, tx, apiID); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindAuthorizer, model.ChildKey(apiID, au.ID), au)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, au, nil
}

func (a *API) loadAuthorizer(ctx context.Context, rd store.Reader, apiID, id string) (*model.Authorizer, error) {
	return loadChild[model.Authorizer](ctx, a, rd, model.KindAuthorizer, apiID, id, errNoAuthorizer)
}

func (a *API) getAuthorizer(r *http.Request, _ []byte) (int, any, error) {
	au, err := a.loadAuthorizer(r.Context(), a.Store, r.PathValue("api"), r.PathValue("authorizer"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, au, nil
}

func (a *API) getAuthorizers(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID := r.PathValue("api")
	if _, err := a.loadRestApi(ctx, a.Store, apiID); err != nil {
		return 0, nil, err
	}
	list, err := listJSON[model.Authorizer](ctx, a.Store, model.KindAuthorizer, model.ApiPrefix(apiID))
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(r, list, func(x *model.Authorizer) string { return x.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateAuthorizer(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateAuthorizerInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	apiID := r.PathValue("api")
	var au *model.Authorizer
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if au, err = a.loadAuthorizer(ctx, tx, apiID, r.PathValue("authorizer")); err != nil {
			return err
		}
		if err := applyOps(ops, au, patchAuthorizer); err != nil {
			return err
		}
		if err := validateAuthorizer(au); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindAuthorizer, model.ChildKey(apiID, au.ID), au)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, au, nil
}

func patchAuthorizer(au *model.Authorizer, op PatchOp) error {
	s := op.Segs
	if len(s) == 1 {
		switch s[0] {
		case "name":
			return patchString(op, &au.Name)
		case "type":
			return patchString(op, &au.Type)
		case "authType":
			return patchString(op, &au.AuthType)
		case "authorizerUri":
			return patchString(op, &au.AuthorizerURI)
		case "authorizerCredentials":
			return patchString(op, &au.AuthorizerCredentials)
		case "identitySource":
			return patchString(op, &au.IdentitySource)
		case "identityValidationExpression":
			return patchString(op, &au.IdentityValidationExpression)
		case "authorizerResultTtlInSeconds":
			var n int64
			if err := patchInt(op, &n); err != nil {
				return err
			}
			au.AuthorizerResultTtlInSeconds = &n
			return nil
		case "providerARNs":
			return patchList(op, &au.ProviderARNs, op.value())
		}
	}
	return errPatchPath(op)
}

func (a *API) deleteAuthorizer(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, id := r.PathValue("api"), r.PathValue("authorizer")
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if _, err := a.loadAuthorizer(ctx, tx, apiID, id); err != nil {
			return err
		}
		t, err := a.loadTree(ctx, tx, apiID)
		if err != nil {
			return err
		}
		for _, res := range t.byID {
			for name, m := range res.ResourceMethods {
				if m.AuthorizerID == id {
					return conflict("Cannot delete authorizer, is referenced in method: %s %s", name, res.Path)
				}
			}
		}
		return tx.Delete(ctx, model.KindAuthorizer, model.ChildKey(apiID, id))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}
