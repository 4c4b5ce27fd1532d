// Package control is the management API of apigw: the apigateway service's
// REST-JSON operations, with AWS's paths, shapes, status codes and errors.
// Authentication happens before a request gets here.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/apigw/apigw/internal/edge"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/apigw/apigw/internal/jsonhttp"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/pagetoken"
	"github.com/apigw/apigw/internal/requestid"
	"github.com/apigw/apigw/internal/store"
)

// MaxBodyBytes bounds a management request body.
const MaxBodyBytes = 10 << 20

// API serves the apigateway management operations.
type API struct {
	Store     store.Store
	AccountID string
	Region    string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives internal errors; nil means slog.Default().
	Log *slog.Logger
	// Committed, if set, runs after a successful change and before its
	// response is sent (the server uses it to make the change live at once).
	Committed func(ctx context.Context)
	// Meter reports and adjusts quota usage; nil reports none.
	Meter Meter
	// Tester runs TestInvokeMethod and TestInvokeAuthorizer.
	Tester Tester
	// Seal encrypts a secret at rest (client certificates' private keys),
	// bound to aad; nil refuses GenerateClientCertificate.
	Seal func(plaintext []byte, aad string) ([]byte, error)
	// DomainTarget is the host name custom domains report as their
	// regionalDomainName/distributionDomainName (where a CNAME points);
	// "" means a name of AWS's form under .localhost.
	DomainTarget string
	// AccountRate and AccountBurst are the account throttle given at start,
	// which GetAccount reports until UpdateAccount stores another.
	AccountRate  float64
	AccountBurst int64
	// VpcLinkTargets maps the network load balancer ARNs VPC links name
	// to the host:port apigw reaches for them (--vpc-link-target). A link
	// whose target is not here is FAILED.
	VpcLinkTargets map[string]string
	// Truststores reads the truststores of mutual-TLS domains; nil reads
	// file:// and https:// ones, and s3:// ones anonymously from AWS.
	Truststores *edge.TruststoreFetcher
	// InvokeURL is the URL of a stage that generated SDKs call (no
	// trailing /); nil means the path-style URL on 127.0.0.1:8080.
	InvokeURL func(apiID, stage string) string
	// CacheSettle is how long a stage cache's status stays
	// CREATE_IN_PROGRESS or DELETE_IN_PROGRESS; 0 means DefaultCacheSettle.
	CacheSettle time.Duration

	handler http.Handler
}

// handlerFunc is the shape of every operation: it returns the status and the
// value to encode as JSON (nil for no body), or an error.
type handlerFunc func(r *http.Request, body []byte) (int, any, error)

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// Handler returns the HTTP handler of the API. It is built once.
func (a *API) Handler() http.Handler {
	if a.handler != nil {
		return a.handler
	}
	mux := http.NewServeMux()
	h := func(pattern string, f handlerFunc) { mux.Handle(pattern, a.wrap(f)) }

	h("POST /restapis", a.createRestApi)
	h("GET /restapis", a.getRestApis)
	h("GET /restapis/{api}", a.getRestApi)
	h("PUT /restapis/{api}", a.putRestApi)
	h("GET /restapis/{api}/stages/{stage}/exports/{type}", a.getExport)
	h("GET /restapis/{api}/stages/{stage}/sdks/{type}", a.getSdk)
	h("GET /sdktypes", a.getSdkTypes)
	h("GET /sdktypes/{sdktype}", a.getSdkType)
	h("PATCH /restapis/{api}", a.updateRestApi)
	h("DELETE /restapis/{api}", a.deleteRestApi)

	h("GET /restapis/{api}/resources", a.getResources)
	h("POST /restapis/{api}/resources/{res}", a.createResource)
	h("GET /restapis/{api}/resources/{res}", a.getResource)
	h("PATCH /restapis/{api}/resources/{res}", a.updateResource)
	h("DELETE /restapis/{api}/resources/{res}", a.deleteResource)

	h("PUT /restapis/{api}/resources/{res}/methods/{method}", a.putMethod)
	h("GET /restapis/{api}/resources/{res}/methods/{method}", a.getMethod)
	h("PATCH /restapis/{api}/resources/{res}/methods/{method}", a.updateMethod)
	h("DELETE /restapis/{api}/resources/{res}/methods/{method}", a.deleteMethod)

	h("PUT /restapis/{api}/resources/{res}/methods/{method}/responses/{status}", a.putMethodResponse)
	h("GET /restapis/{api}/resources/{res}/methods/{method}/responses/{status}", a.getMethodResponse)
	h("PATCH /restapis/{api}/resources/{res}/methods/{method}/responses/{status}", a.updateMethodResponse)
	h("DELETE /restapis/{api}/resources/{res}/methods/{method}/responses/{status}", a.deleteMethodResponse)

	h("PUT /restapis/{api}/resources/{res}/methods/{method}/integration", a.putIntegration)
	h("GET /restapis/{api}/resources/{res}/methods/{method}/integration", a.getIntegration)
	h("PATCH /restapis/{api}/resources/{res}/methods/{method}/integration", a.updateIntegration)
	h("DELETE /restapis/{api}/resources/{res}/methods/{method}/integration", a.deleteIntegration)

	h("PUT /restapis/{api}/resources/{res}/methods/{method}/integration/responses/{status}", a.putIntegrationResponse)
	h("GET /restapis/{api}/resources/{res}/methods/{method}/integration/responses/{status}", a.getIntegrationResponse)
	h("PATCH /restapis/{api}/resources/{res}/methods/{method}/integration/responses/{status}", a.updateIntegrationResponse)
	h("DELETE /restapis/{api}/resources/{res}/methods/{method}/integration/responses/{status}", a.deleteIntegrationResponse)

	h("POST /restapis/{api}/deployments", a.createDeployment)
	h("GET /restapis/{api}/deployments", a.getDeployments)
	h("GET /restapis/{api}/deployments/{dep}", a.getDeployment)
	h("PATCH /restapis/{api}/deployments/{dep}", a.updateDeployment)
	h("DELETE /restapis/{api}/deployments/{dep}", a.deleteDeployment)

	h("POST /restapis/{api}/stages", a.createStage)
	h("GET /restapis/{api}/stages", a.getStages)
	h("GET /restapis/{api}/stages/{stage}", a.getStage)
	h("PATCH /restapis/{api}/stages/{stage}", a.updateStage)
	h("DELETE /restapis/{api}/stages/{stage}", a.deleteStage)
	h("DELETE /restapis/{api}/stages/{stage}/cache/authorizers", a.flushStageAuthorizersCache)
	h("DELETE /restapis/{api}/stages/{stage}/cache/data", a.flushStageCache)

	h("POST /restapis/{api}/authorizers", a.createAuthorizer)
	h("GET /restapis/{api}/authorizers", a.getAuthorizers)
	h("GET /restapis/{api}/authorizers/{authorizer}", a.getAuthorizer)
	h("PATCH /restapis/{api}/authorizers/{authorizer}", a.updateAuthorizer)
	h("DELETE /restapis/{api}/authorizers/{authorizer}", a.deleteAuthorizer)
	h("POST /restapis/{api}/authorizers/{authorizer}", a.testInvokeAuthorizer)
	h("POST /restapis/{api}/resources/{res}/methods/{method}", a.testInvokeMethod)

	h("PUT /restapis/{api}/gatewayresponses/{type}", a.putGatewayResponse)
	h("GET /restapis/{api}/gatewayresponses", a.getGatewayResponses)
	h("GET /restapis/{api}/gatewayresponses/{type}", a.getGatewayResponse)
	h("PATCH /restapis/{api}/gatewayresponses/{type}", a.updateGatewayResponse)
	h("DELETE /restapis/{api}/gatewayresponses/{type}", a.deleteGatewayResponse)

	h("POST /restapis/{api}/models", a.createModel)
	h("GET /restapis/{api}/models", a.getModels)
	h("GET /restapis/{api}/models/{model}", a.getModel)
	h("PATCH /restapis/{api}/models/{model}", a.updateModel)
	h("DELETE /restapis/{api}/models/{model}", a.deleteModel)
	h("GET /restapis/{api}/models/{model}/default_template", a.getModelTemplate)

	h("POST /restapis/{api}/requestvalidators", a.createRequestValidator)
	h("GET /restapis/{api}/requestvalidators", a.getRequestValidators)
	h("GET /restapis/{api}/requestvalidators/{validator}", a.getRequestValidator)
	h("PATCH /restapis/{api}/requestvalidators/{validator}", a.updateRequestValidator)
	h("DELETE /restapis/{api}/requestvalidators/{validator}", a.deleteRequestValidator)

	h("POST /apikeys", a.createApiKey)
	h("GET /apikeys", a.getApiKeys)
	h("GET /apikeys/{key}", a.getApiKey)
	h("PATCH /apikeys/{key}", a.updateApiKey)
	h("DELETE /apikeys/{key}", a.deleteApiKey)

	h("POST /usageplans", a.createUsagePlan)
	h("GET /usageplans", a.getUsagePlans)
	h("GET /usageplans/{plan}", a.getUsagePlan)
	h("PATCH /usageplans/{plan}", a.updateUsagePlan)
	h("DELETE /usageplans/{plan}", a.deleteUsagePlan)
	h("POST /usageplans/{plan}/keys", a.createUsagePlanKey)
	h("GET /usageplans/{plan}/keys", a.getUsagePlanKeys)
	h("GET /usageplans/{plan}/keys/{key}", a.getUsagePlanKey)
	h("DELETE /usageplans/{plan}/keys/{key}", a.deleteUsagePlanKey)
	h("GET /usageplans/{plan}/usage", a.getUsage)
	h("PATCH /usageplans/{plan}/keys/{key}/usage", a.updateUsage)

	h("POST /clientcertificates", a.generateClientCertificate)
	h("GET /clientcertificates", a.getClientCertificates)
	h("GET /clientcertificates/{cert}", a.getClientCertificate)
	h("PATCH /clientcertificates/{cert}", a.updateClientCertificate)
	h("DELETE /clientcertificates/{cert}", a.deleteClientCertificate)
	h("POST /vpclinks", a.createVpcLink)
	h("GET /vpclinks", a.getVpcLinks)
	h("GET /vpclinks/{link}", a.getVpcLink)
	h("PATCH /vpclinks/{link}", a.updateVpcLink)
	h("DELETE /vpclinks/{link}", a.deleteVpcLink)

	h("POST /domainnames", a.createDomainName)
	h("GET /domainnames", a.getDomainNames)
	h("GET /domainnames/{domain}", a.getDomainName)
	h("PATCH /domainnames/{domain}", a.updateDomainName)
	h("DELETE /domainnames/{domain}", a.deleteDomainName)
	h("POST /domainnames/{domain}/basepathmappings", a.createBasePathMapping)
	h("GET /domainnames/{domain}/basepathmappings", a.getBasePathMappings)
	h("GET /domainnames/{domain}/basepathmappings/{basepath}", a.getBasePathMapping)
	h("PATCH /domainnames/{domain}/basepathmappings/{basepath}", a.updateBasePathMapping)
	h("DELETE /domainnames/{domain}/basepathmappings/{basepath}", a.deleteBasePathMapping)
	h("POST /domainnameaccessassociations", a.createDomainAccess)
	h("GET /domainnameaccessassociations", a.getDomainAccesses)
	h("DELETE /domainnameaccessassociations/{arn...}", a.deleteDomainAccess)
	h("POST /rejectdomainnameaccessassociations", a.rejectDomainAccess)
	h("POST /v2/domainnames/{domain}/apimappings", a.createApiMapping)
	h("GET /v2/domainnames/{domain}/apimappings", a.getApiMappings)
	h("GET /v2/domainnames/{domain}/apimappings/{mapping}", a.getApiMapping)
	h("PATCH /v2/domainnames/{domain}/apimappings/{mapping}", a.updateApiMapping)
	h("DELETE /v2/domainnames/{domain}/apimappings/{mapping}", a.deleteApiMapping)
	h("GET /v2/domainnames", a.getDomainNamesV2)
	h("GET /v2/domainnames/{domain}", a.getDomainNameV2)
	h("PUT /tags/{arn...}", a.tagResource)
	h("DELETE /tags/{arn...}", a.untagResource)
	h("GET /tags/{arn...}", a.getTags)

	h("GET /account", a.getAccount)
	h("PATCH /account", a.updateAccount)

	h("POST /restapis/{api}/documentation/parts", a.createDocumentationPart)
	h("GET /restapis/{api}/documentation/parts", a.getDocumentationParts)
	h("PUT /restapis/{api}/documentation/parts", a.importDocumentationParts)
	h("GET /restapis/{api}/documentation/parts/{part}", a.getDocumentationPart)
	h("PATCH /restapis/{api}/documentation/parts/{part}", a.updateDocumentationPart)
	h("DELETE /restapis/{api}/documentation/parts/{part}", a.deleteDocumentationPart)
	h("POST /restapis/{api}/documentation/versions", a.createDocumentationVersion)
	h("GET /restapis/{api}/documentation/versions", a.getDocumentationVersions)
	h("GET /restapis/{api}/documentation/versions/{version}", a.getDocumentationVersion)
	h("PATCH /restapis/{api}/documentation/versions/{version}", a.updateDocumentationVersion)
	h("DELETE /restapis/{api}/documentation/versions/{version}", a.deleteDocumentationVersion)

	unknown := a.wrap(func(r *http.Request, _ []byte) (int, any, error) {
		return 0, nil, &Error{http.StatusNotFound, "UnknownOperationException", fmt.Sprintf("Unknown operation: %s %s", r.Method, r.URL.Path)}
	})
	mux.Handle("/", unknown)
	a.handler = requestid.Handler(jsonhttp.Routed(mux, unknown))
	return a.handler
}

func (a *API) wrap(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				WriteError(w, &Error{http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Request body too large"})
				return
			}
			WriteError(w, badRequest("Could not read request body"))
			return
		}
		status, v, err := f(r, body)
		if err == nil && r.Method != http.MethodGet && a.Committed != nil {
			a.Committed(r.Context())
		}
		if err != nil {
			var nf *notFoundV2
			if errors.As(err, &nf) {
				writeV2NotFound(w, nf)
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				a.log().ErrorContext(r.Context(), "management operation failed", "method", r.Method, "path", r.URL.Path, "err", err)
				e = &Error{http.StatusInternalServerError, "InternalFailure", "Internal server error"}
			}
			WriteError(w, e)
			return
		}
		if rb, ok := v.(rawBody); ok {
			w.Header().Set("Content-Type", rb.contentType)
			w.Header().Set("Content-Disposition", rb.disposition)
			w.Header().Set("Content-Length", strconv.Itoa(len(rb.body)))
			w.WriteHeader(status)
			w.Write(rb.body)
			return
		}
		jsonhttp.Write(w, status, v)
	})
}

// WriteError writes e in AWS's REST-JSON error shape.
func WriteError(w http.ResponseWriter, e *Error) {
	w.Header().Set("x-amzn-ErrorType", e.Type)
	jsonhttp.Write(w, e.Status, map[string]string{"message": e.Message})
}

// page is a list response: {"item": [...], "position": "..."}.
type page struct {
	Item     any    `json:"item"`
	Position string `json:"position,omitempty"`
}

// paginate applies limit and position to items sorted by key. The position
// is an opaque token for the key of the last item returned; one apigw did
// not hand out is refused.
func paginate[T any](r *http.Request, items []T, key func(T) string) (page, error) {
	q := r.URL.Query()
	return paginateBy(q.Get("limit"), q.Get("position"), items, key)
}

// paginateBy is paginate with the limit and position given (apigatewayv2
// names them maxResults and nextToken).
func paginateBy[T any](limitParam, pos string, items []T, key func(T) string) (page, error) {
	limit := 25
	if s := limitParam; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return page{}, badRequest("Invalid limit: must be between 1 and 500")
		}
		limit = n
	}
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	start := 0
	if pos != "" {
		after, ok := pagetoken.Decode(pos)
		if !ok {
			return page{}, errInvalidPosition
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > after })
	}
	end := min(start+limit, len(items))
	p := page{Item: items[start:end]}
	if end < len(items) && end > start {
		p.Position = pagetoken.Encode(key(items[end-1]))
	}
	if end <= start {
		p.Item = []T{}
	}
	return p, nil
}

// getJSON reads one record into v; a missing record gives notFoundErr.
func getJSON(ctx context.Context, r store.Reader, kind, key string, v any, notFoundErr error) error {
	b, err := r.Get(ctx, kind, key)
	if errors.Is(err, store.ErrNotFound) {
		return notFoundErr
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("control: decode %s %s: %w", kind, key, err)
	}
	return nil
}

func putJSON(ctx context.Context, tx store.Tx, kind, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("control: encode %s %s: %w", kind, key, err)
	}
	return tx.Put(ctx, kind, key, b)
}

// loadChild reads a record that belongs to an API: the API must exist (its
// own error otherwise), then the record (notFoundErr otherwise).
func loadChild[T any](ctx context.Context, a *API, rd store.Reader, kind, apiID, id string, notFoundErr error) (*T, error) {
	if _, err := a.loadRestApi(ctx, rd, apiID); err != nil {
		return nil, err
	}
	v := new(T)
	if err := getJSON(ctx, rd, kind, model.ChildKey(apiID, id), v, notFoundErr); err != nil {
		return nil, err
	}
	return v, nil
}

// listJSON decodes every record of kind under prefix.
func listJSON[T any](ctx context.Context, r store.Reader, kind, prefix string) ([]*T, error) {
	items, err := r.List(ctx, kind, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(items))
	for _, it := range items {
		v := new(T)
		if err := json.Unmarshal(it.Value, v); err != nil {
			return nil, fmt.Errorf("control: decode %s %s: %w", kind, it.Key, err)
		}
		out = append(out, v)
	}
	return out, nil
}
