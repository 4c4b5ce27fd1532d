package control

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/jsonhttp"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

// The apigatewayv2 operations on custom domains that REST APIs use: API
// mappings (the base path mappings of the v1 API, multi-level ones
// included) and the domain names seen through them. apigatewayv2 signs as
// the apigateway service and lives under /v2 on the same listener.

// apiMappingIDLen is the length of an ApiMapping id, as AWS makes them.
const apiMappingIDLen = 6

// maxMappingKey is the longest API mapping key AWS takes.
const maxMappingKey = 300

// apiMappingKeyRE is an API mapping key: levels of the characters a base
// path may hold, separated by single slashes.
var apiMappingKeyRE = regexp.MustCompile(`^[A-Za-z0-9$\-_.+!*'()]+(/[A-Za-z0-9$\-_.+!*'()]+)*$`)

// notFoundV2 is apigatewayv2's NotFoundException, which names the kind of
// resource missing.
type notFoundV2 struct {
	msg, resourceType string
}

func (e *notFoundV2) Error() string { return "NotFoundException: " + e.msg }

var (
	errV2NoDomainName = &notFoundV2{"Invalid domain name identifier specified", "DomainName"}
	errV2NoApiMapping = &notFoundV2{"Invalid API mapping identifier specified", "ApiMapping"}
	errV2NoStage      = &notFoundV2{"Invalid stage identifier specified", "Stage"}
	errMappingExists  = conflict("ApiMapping key already exists for this domain name")
	errBadMappingKey  = badRequest("Invalid API mapping key. An API mapping key can contain only letters, numbers, the characters $-_.+!*'() and single slashes between its levels, at most %d characters", maxMappingKey)
	errMultiLevelType = badRequest("Multi-level API mappings (a key with a slash) are only supported for REGIONAL domain names with a TLS 1.2 security policy")
)

// writeV2NotFound writes e in apigatewayv2's shape.
func writeV2NotFound(w http.ResponseWriter, e *notFoundV2) {
	w.Header().Set("x-amzn-ErrorType", "NotFoundException")
	jsonhttp.Write(w, http.StatusNotFound, map[string]string{"message": e.msg, "resourceType": e.resourceType})
}

// apiMapping is apigatewayv2's ApiMapping.
type apiMapping struct {
	ApiID         string `json:"apiId"`
	ApiMappingID  string `json:"apiMappingId"`
	ApiMappingKey string `json:"apiMappingKey,omitempty"`
	Stage         string `json:"stage,omitempty"`
}

// mappingID is a mapping's ApiMapping id: the one it keeps, or for a record
// written before apigw kept one, a name derived from its store key (stable
// until the record is written again, which then keeps it).
func mappingID(key string, m *model.BasePathMapping) string {
	if m.ID != "" {
		return m.ID
	}
	sum := sha256.Sum256([]byte(key))
	b := make([]byte, apiMappingIDLen)
	for i := range b {
		b[i] = idAlphabet[int(sum[i])%len(idAlphabet)]
	}
	return string(b)
}

func v2Mapping(key string, m *model.BasePathMapping) *apiMapping {
	out := &apiMapping{ApiID: m.RestApiID, ApiMappingID: mappingID(key, m), Stage: m.Stage}
	if m.BasePath != model.NoBasePath {
		out.ApiMappingKey = m.BasePath
	}
	return out
}

// normMappingKey is an API mapping key as stored: "(none)" for the empty
// one. A multi-level key needs a REGIONAL domain with TLS 1.2 or newer, as
// on AWS.
func normMappingKey(d *model.DomainName, key string) (string, error) {
	if key == "" || key == model.NoBasePath {
		return model.NoBasePath, nil
	}
	if len(key) > maxMappingKey || !apiMappingKeyRE.MatchString(key) {
		return "", errBadMappingKey
	}
	if strings.Contains(key, "/") && (d.EndpointConfiguration == nil || d.EndpointConfiguration.Types[0] != "REGIONAL" || d.SecurityPolicy == "TLS_1_0") {
		return "", errMultiLevelType
	}
	return key, nil
}

func (a *API) v2LoadDomain(ctx context.Context, rd store.Reader, name string) (*model.DomainName, error) {
	d, err := a.loadDomainName(ctx, rd, name)
	if e, ok := err.(*Error); ok && e == errNoDomainName {
		return nil, errV2NoDomainName
	}
	return d, err
}

// checkV2Mapping refuses a mapping to an API or stage that does not exist.
func (a *API) checkV2Mapping(ctx context.Context, rd store.Reader, apiID, stage string) error {
	if apiID == "" {
		return badRequest("ApiId is required")
	}
	if stage == "" {
		return badRequest("Stage is required")
	}
	if _, err := a.loadRestApi(ctx, rd, apiID); err != nil {
		if e, ok := err.(*Error); ok && e.Status == http.StatusNotFound {
			return &notFoundV2{e.Message, "Api"}
		}
		return err
	}
	if _, err := rd.Get(ctx, model.KindStage, model.ChildKey(apiID, stage)); errors.Is(err, store.ErrNotFound) {
		return errV2NoStage
	} else if err != nil {
		return err
	}
	return nil
}

type apiMappingInput struct {
	ApiID         *string `json:"apiId"`
	ApiMappingKey *string `json:"apiMappingKey"`
	Stage         *string `json:"stage"`
}

func (a *API) createApiMapping(r *http.Request, body []byte) (int, any, error) {
	var in apiMappingInput
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	var key string
	m := &model.BasePathMapping{ID: newID(apiMappingIDLen)}
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		d, err := a.v2LoadDomain(ctx, tx, r.PathValue("domain"))
		if err != nil {
			return err
		}
		if m.BasePath, err = normMappingKey(d, deref(in.ApiMappingKey)); err != nil {
			return err
		}
		m.RestApiID, m.Stage = deref(in.ApiID), deref(in.Stage)
		if err := a.checkV2Mapping(ctx, tx, m.RestApiID, m.Stage); err != nil {
			return err
		}
		key = model.BasePathKey(d.DomainName, m.BasePath)
		if err := mappingFree(ctx, tx, key, errMappingExists); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindBasePathMapping, key, m)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, v2Mapping(key, m), nil
}

// mappingFree returns exists when a mapping has the store key key.
func mappingFree(ctx context.Context, rd store.Reader, key string, exists error) error {
	if _, err := rd.Get(ctx, model.KindBasePathMapping, key); err == nil {
		return exists
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// putMapping writes m under key, which was oldKey: a new key must be
// free (else exists), and the old record goes.
func putMapping(ctx context.Context, tx store.Tx, oldKey, key string, m *model.BasePathMapping, exists error) error {
	if key != oldKey {
		if err := mappingFree(ctx, tx, key, exists); err != nil {
			return err
		}
		if err := tx.Delete(ctx, model.KindBasePathMapping, oldKey); err != nil {
			return err
		}
	}
	return putJSON(ctx, tx, model.KindBasePathMapping, key, m)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// findApiMapping finds a domain's mapping by its ApiMapping id.
func (a *API) findApiMapping(ctx context.Context, rd store.Reader, domain, id string) (*model.DomainName, string, *model.BasePathMapping, error) {
	d, err := a.v2LoadDomain(ctx, rd, domain)
	if err != nil {
		return nil, "", nil, err
	}
	ms, keys, err := a.domainMappings(ctx, rd, d)
	if err != nil {
		return nil, "", nil, err
	}
	for i, m := range ms {
		if mappingID(keys[i], m) == id {
			return d, keys[i], m, nil
		}
	}
	return nil, "", nil, errV2NoApiMapping
}

// domainMappings are a domain's mappings and their store keys.
func (a *API) domainMappings(ctx context.Context, rd store.Reader, d *model.DomainName) ([]*model.BasePathMapping, []string, error) {
	ms, err := listJSON[model.BasePathMapping](ctx, rd, model.KindBasePathMapping, d.DomainName+"/")
	if err != nil {
		return nil, nil, err
	}
	keys := make([]string, len(ms))
	for i, m := range ms {
		keys[i] = model.BasePathKey(d.DomainName, m.BasePath)
	}
	return ms, keys, nil
}

func (a *API) getApiMapping(r *http.Request, _ []byte) (int, any, error) {
	_, key, m, err := a.findApiMapping(r.Context(), a.Store, r.PathValue("domain"), r.PathValue("mapping"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v2Mapping(key, m), nil
}

// v2Page is apigatewayv2's list shape.
type v2Page struct {
	Items     any    `json:"items"`
	NextToken string `json:"nextToken,omitempty"`
}

func v2Paginate[T any](r *http.Request, items []T, key func(T) string) (v2Page, error) {
	q := r.URL.Query()
	p, err := paginateBy(q.Get("maxResults"), q.Get("nextToken"), items, key)
	if err != nil {
		return v2Page{}, err
	}
	return v2Page{Items: p.Item, NextToken: p.Position}, nil
}

func (a *API) getApiMappings(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	d, err := a.v2LoadDomain(ctx, a.Store, r.PathValue("domain"))
	if err != nil {
		return 0, nil, err
	}
	ms, keys, err := a.domainMappings(ctx, a.Store, d)
	if err != nil {
		return 0, nil, err
	}
	out := make([]*apiMapping, len(ms))
	for i, m := range ms {
		out[i] = v2Mapping(keys[i], m)
	}
	p, err := v2Paginate(r, out, func(m *apiMapping) string { return m.ApiMappingKey + "\x00" + m.ApiMappingID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateApiMapping(r *http.Request, body []byte) (int, any, error) {
	var in apiMappingInput
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	var key string
	var m *model.BasePathMapping
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		d, oldKey, found, err := a.findApiMapping(ctx, tx, r.PathValue("domain"), r.PathValue("mapping"))
		if err != nil {
			return err
		}
		m = found
		m.ID = mappingID(oldKey, m)
		if in.ApiMappingKey != nil {
			if m.BasePath, err = normMappingKey(d, *in.ApiMappingKey); err != nil {
				return err
			}
		}
		if in.ApiID != nil {
			m.RestApiID = *in.ApiID
		}
		if in.Stage != nil {
			m.Stage = *in.Stage
		}
		if err := a.checkV2Mapping(ctx, tx, m.RestApiID, m.Stage); err != nil {
			return err
		}
		key = model.BasePathKey(d.DomainName, m.BasePath)
		return putMapping(ctx, tx, oldKey, key, m, errMappingExists)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v2Mapping(key, m), nil
}

func (a *API) deleteApiMapping(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		_, key, _, err := a.findApiMapping(ctx, tx, r.PathValue("domain"), r.PathValue("mapping"))
		if err != nil {
			return err
		}
		return tx.Delete(ctx, model.KindBasePathMapping, key)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// v2DomainName is apigatewayv2's DomainName: one configuration for the
// domain's one endpoint.
type v2DomainName struct {
	ApiMappingSelectionExpression string               `json:"apiMappingSelectionExpression"`
	DomainName                    string               `json:"domainName"`
	DomainNameArn                 string               `json:"domainNameArn,omitempty"`
	DomainNameConfigurations      []v2DomainNameConfig `json:"domainNameConfigurations"`
	RoutingMode                   string               `json:"routingMode,omitempty"`
	Tags                          map[string]string    `json:"tags,omitempty"`
}

type v2DomainNameConfig struct {
	ApiGatewayDomainName  string `json:"apiGatewayDomainName"`
	CertificateArn        string `json:"certificateArn,omitempty"`
	CertificateName       string `json:"certificateName,omitempty"`
	CertificateUploadDate string `json:"certificateUploadDate,omitempty"`
	DomainNameStatus      string `json:"domainNameStatus,omitempty"`
	EndpointType          string `json:"endpointType"`
	HostedZoneID          string `json:"hostedZoneId,omitempty"`
	SecurityPolicy        string `json:"securityPolicy,omitempty"`
}

func v2Domain(d *model.DomainName) *v2DomainName {
	c := v2DomainNameConfig{DomainNameStatus: d.DomainNameStatus, SecurityPolicy: d.SecurityPolicy}
	if d.CertificateUploadDate != 0 {
		c.CertificateUploadDate = time.Unix(d.CertificateUploadDate, 0).UTC().Format(time.RFC3339)
	}
	if d.RegionalDomainName != "" {
		c.EndpointType, c.ApiGatewayDomainName, c.HostedZoneID = "REGIONAL", d.RegionalDomainName, d.RegionalHostedZoneID
		c.CertificateArn, c.CertificateName = d.RegionalCertificateArn, d.RegionalCertificateName
	} else {
		c.EndpointType, c.ApiGatewayDomainName, c.HostedZoneID = "EDGE", d.DistributionDomainName, d.DistributionHostedZoneID
		c.CertificateArn, c.CertificateName = d.CertificateArn, d.CertificateName
	}
	return &v2DomainName{ApiMappingSelectionExpression: "$request.basepath", DomainName: d.DomainName, DomainNameArn: d.DomainNameArn,
		DomainNameConfigurations: []v2DomainNameConfig{c}, RoutingMode: d.RoutingMode, Tags: d.Tags}
}

func (a *API) getDomainNameV2(r *http.Request, _ []byte) (int, any, error) {
	d, err := a.v2LoadDomain(r.Context(), a.Store, r.PathValue("domain"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v2Domain(d), nil
}

func (a *API) getDomainNamesV2(r *http.Request, _ []byte) (int, any, error) {
	ds, err := listJSON[model.DomainName](r.Context(), a.Store, model.KindDomainName, "")
	if err != nil {
		return 0, nil, err
	}
	// Private domains are the apigateway API's only, as on AWS.
	out := make([]*v2DomainName, 0, len(ds))
	for _, d := range ds {
		if !d.Private() {
			out = append(out, v2Domain(d))
		}
	}
	p, err := v2Paginate(r, out, func(d *v2DomainName) string { return d.DomainName })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}
