package control

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/apigw/apigw/internal/sdkgen"
)

func (a *API) getSdkTypes(r *http.Request, _ []byte) (int, any, error) {
	items := make([]sdkgen.Type, len(sdkgen.Types))
	copy(items, sdkgen.Types)
	p, err := paginate(r, items, func(t sdkgen.Type) string { return t.ID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) getSdkType(r *http.Request, _ []byte) (int, any, error) {
	t := sdkgen.Lookup(r.PathValue("sdktype"))
	if t == nil {
		return 0, nil, notFound("Invalid SDK type specified: %s", r.PathValue("sdktype"))
	}
	return http.StatusOK, t, nil
}

// invokeURL is the URL a generated SDK calls for the stage.
func (a *API) invokeURL(apiID, stage string) string {
	if a.InvokeURL != nil {
		return a.InvokeURL(apiID, stage)
	}
	return "http://127.0.0.1:8080/_aws/execute-api/" + apiID + "/" + stage
}

// getSdk answers GetSdk: the zip of the stage's deployment's JavaScript
// SDK. The other types AWS generates answer 400 saying apigw does not.
func (a *API) getSdk(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	apiID, stageName, typ := r.PathValue("api"), r.PathValue("stage"), r.PathValue("type")
	_, snap, err := a.stageSnapshot(ctx, apiID, stageName)
	if err != nil {
		return 0, nil, err
	}
	t := sdkgen.Lookup(typ)
	if t == nil {
		return 0, nil, badRequest("Invalid SDK type specified: %s. Valid values are %s", typ, sdkTypeIDs())
	}
	if !t.Generated {
		return 0, nil, badRequest("apigw generates only javascript SDKs; it does not generate %s SDKs (%s). GetExport gives the stage's OpenAPI document for another generator", t.ID, t.FriendlyName)
	}
	now := a.now()
	zip, err := sdkgen.JavaScript(snap, sdkgen.Options{
		Stage: stageName, InvokeURL: a.invokeURL(apiID, stageName), Region: a.Region, Now: now,
	})
	if err != nil {
		return 0, nil, fmt.Errorf("control: sdk %s/%s: %w", apiID, stageName, err)
	}
	return http.StatusOK, rawBody{
		contentType: "application/zip",
		disposition: fmt.Sprintf(`attachment; filename="%s_%s.zip"`, t.ID, now.UTC().Format("2006-01-02_15-04Z")),
		body:        zip,
	}, nil
}

func sdkTypeIDs() string {
	ids := make([]string, len(sdkgen.Types))
	for i, t := range sdkgen.Types {
		ids[i] = t.ID
	}
	return strings.Join(ids, ", ")
}
