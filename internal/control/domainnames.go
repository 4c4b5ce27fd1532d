package control

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/apigw/apigw/internal/edge"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/store"
)

var (
	errNoDomainName      = notFound("Invalid domain name identifier specified")
	errNoBasePathMapping = notFound("Invalid base path mapping identifier specified")
	errDomainExists      = conflict("The domain name you provided already exists.")
	errBasePathExists    = conflict("Base path already exists for this domain name")
	errBadBasePath       = badRequest("Invalid base path. Base path can contain only letters, numbers, and these characters: $-_.+!*'()")
	errBasePathSlash     = badRequest("API Gateway V1 doesn't support the slash character (/) in base path mappings. To create a multi-level base path mapping, use API Gateway V2.")
	errMTLSRegional      = badRequest("Mutual TLS authentication is only supported for REGIONAL domain names")
)

// readTruststore reads and checks the truststore m names; the record
// keeps the PEM as read, and the warnings are AWS's truststoreWarnings.
func (a *API) readTruststore(ctx context.Context, m *model.MutualTLS) (*model.Truststore, []string, error) {
	f := a.Truststores
	if f == nil {
		f = &edge.TruststoreFetcher{Region: a.Region}
	}
	b, err := f.Fetch(ctx, m.TruststoreURI, m.TruststoreVersion)
	if err == nil {
		var warnings []string
		if _, warnings, err = edge.ParseTruststore(b, a.now()); err == nil {
			return &model.Truststore{URI: m.TruststoreURI, Version: m.TruststoreVersion, PEM: string(b), ReadAt: a.now().Unix()}, warnings, nil
		}
	}
	var te *edge.TruststoreError
	if errors.As(err, &te) {
		return nil, nil, badRequest("%s", te.Message)
	}
	return nil, nil, err
}

// Hosted zones AWS reports for a domain's targets: CloudFront's (EDGE) and
// the regional endpoints' (REGIONAL), which a DNS alias would name.
const (
	distributionHostedZoneID = "Z2FDTNDATAQYW2"
	regionalHostedZoneID     = "Z1UJRXOUMOOFQ8"
)

// domainNameRE is what AWS accepts as a custom domain name: DNS labels,
// the first of which may be "*".
var domainNameRE = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// basePathRE is a base path of the apigateway API: one segment.
var basePathRE = regexp.MustCompile(`^[A-Za-z0-9$\-_.+!*'()]+$`)

// domainTarget is the host name a domain's DNS record points at: apigw's
// own (DomainTarget), else a name in AWS's form.
func (a *API) domainTarget(id string) string {
	if a.DomainTarget != "" {
		return a.DomainTarget
	}
	return id + ".execute-api." + a.Region + ".localhost"
}

func (a *API) createDomainName(r *http.Request, body []byte) (int, any, error) {
	var in struct {
		model.DomainName
		CertificateBody       string `json:"certificateBody"`
		CertificatePrivateKey string `json:"certificatePrivateKey"`
		CertificateChain      string `json:"certificateChain"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	d := in.DomainName
	d.DomainName = strings.ToLower(strings.TrimSuffix(d.DomainName, "."))
	d.DomainNameID = ""
	if d.DomainName == "" {
		return 0, nil, badRequest("No Domain Name specified")
	}
	if !domainNameRE.MatchString(d.DomainName) {
		return 0, nil, badRequest("Invalid domain name: %s", in.DomainName.DomainName)
	}
	if in.CertificateBody != "" || in.CertificatePrivateKey != "" {
		return 0, nil, badRequest("Certificates uploaded with the domain name are not supported by this apigw: import the certificate with ACM (aws acm import-certificate) and pass its ARN")
	}
	if d.EndpointConfiguration == nil || len(d.EndpointConfiguration.Types) == 0 {
		d.EndpointConfiguration = &model.EndpointConfiguration{Types: []string{"EDGE"}}
	}
	ctx := r.Context()
	var ts *model.Truststore
	if m := d.MutualTLSAuthentication; m != nil && m.TruststoreURI == "" {
		d.MutualTLSAuthentication = nil
	} else if m != nil {
		if err := checkMutualTLS(&d); err != nil {
			return 0, nil, err
		}
		// Read before the transaction: fetching may take seconds.
		var err error
		if ts, m.TruststoreWarnings, err = a.readTruststore(ctx, m); err != nil {
			return 0, nil, err
		}
	}
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		if err := a.checkDomain(ctx, tx, &d); err != nil {
			return err
		}
		if ts != nil {
			if err := putJSON(ctx, tx, model.KindTruststore, d.DomainName, ts); err != nil {
				return err
			}
		}
		if d.Private() {
			// Checked by putPrivateDomain: a private domain may share
			// its name with a public one.
		} else if _, err := tx.Get(ctx, model.KindDomainName, d.DomainName); err == nil {
			return errDomainExists
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		d.DomainNameStatus = "AVAILABLE"
		d.CertificateUploadDate = a.now().Unix()
		if d.Private() {
			return a.putPrivateDomain(ctx, tx, &d)
		}
		d.DomainNameArn = "arn:aws:apigateway:" + a.Region + "::/domainnames/" + d.DomainName
		a.fillTargets(&d, "d-"+newID(10))
		return putJSON(ctx, tx, model.KindDomainName, d.DomainName, &d)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, &d, nil
}

// fillTargets sets the host names and zones of the domain's endpoint type.
func (a *API) fillTargets(d *model.DomainName, id string) {
	if old := d.RegionalDomainName + d.DistributionDomainName; old != "" && a.DomainTarget == "" {
		id, _, _ = strings.Cut(old, ".")
	}
	d.RegionalDomainName, d.RegionalHostedZoneID, d.DistributionDomainName, d.DistributionHostedZoneID = "", "", "", ""
	if d.EndpointConfiguration.Types[0] == "REGIONAL" {
		d.RegionalDomainName, d.RegionalHostedZoneID = a.domainTarget(id), regionalHostedZoneID
	} else {
		d.DistributionDomainName, d.DistributionHostedZoneID = a.domainTarget(id), distributionHostedZoneID
	}
}

// checkDomain applies AWS's rules to a domain's endpoint type, certificate
// and security policy.
func (a *API) checkDomain(ctx context.Context, rd store.Reader, d *model.DomainName) error {
	ec := d.EndpointConfiguration
	if len(ec.Types) != 1 {
		return badRequest("Cannot create a domain name with multiple endpoint types")
	}
	switch ec.Types[0] {
	case "REGIONAL":
		if d.CertificateArn != "" || d.CertificateName != "" {
			return badRequest("Cannot import certificates for EDGE while REGIONAL is active.")
		}
		if d.RegionalCertificateArn == "" {
			return badRequest("A regional certificate ARN or name must be provided for a REGIONAL domain name")
		}
	case "EDGE":
		if d.RegionalCertificateArn != "" || d.RegionalCertificateName != "" {
			return badRequest("Cannot import certificates for REGIONAL while EDGE is active.")
		}
		if d.CertificateArn == "" {
			return badRequest("A certificate ARN or name must be provided for an EDGE domain name")
		}
	case "PRIVATE":
		if err := checkPrivateDomain(d); err != nil {
			return err
		}
	default:
		return badRequest("Invalid endpoint configuration type %s", ec.Types[0])
	}
	if d.SecurityPolicy == "" {
		d.SecurityPolicy = edge.DefaultPolicy
	}
	p, ok := edge.Policy(d.SecurityPolicy)
	if !ok {
		return badRequest("Invalid security policy: %s", d.SecurityPolicy)
	}
	if p.Edge != (ec.Types[0] == "EDGE") && d.SecurityPolicy != "TLS_1_0" && d.SecurityPolicy != "TLS_1_2" {
		return badRequest("Security policy %s is not supported for %s endpoints", d.SecurityPolicy, ec.Types[0])
	}
	if err := checkMutualTLS(d); err != nil {
		return err
	}
	arn := d.ServedCertificateArn()
	id := model.CertificateIDFromArn(arn)
	if id == "" {
		return badRequest("Invalid certificate ARN: %s", arn)
	}
	var cert model.CertificateRecord
	errNoCert := badRequest("Certificate %s not found", arn)
	if err := getJSON(ctx, rd, model.KindCertificate, id, &cert, errNoCert); err != nil {
		return err
	}
	if cert.Arn != arn {
		return errNoCert
	}
	if !certCovers(&cert, d.DomainName) {
		return badRequest("The certificate %s does not cover the domain name %s", arn, d.DomainName)
	}
	if d.Private() {
		d.CertificateName = ""
	} else if ec.Types[0] == "REGIONAL" {
		d.RegionalCertificateName = cert.DomainName
	} else {
		d.CertificateName = cert.DomainName
	}
	return nil
}

// checkMutualTLS applies AWS's rules to a mutual-TLS domain: REGIONAL,
// and a security policy without TLS 1.0.
func checkMutualTLS(d *model.DomainName) error {
	if d.MutualTLSAuthentication == nil {
		return nil
	}
	if ec := d.EndpointConfiguration; ec == nil || len(ec.Types) != 1 || ec.Types[0] != "REGIONAL" {
		return errMTLSRegional
	}
	name := d.SecurityPolicy
	if name == "" {
		name = edge.DefaultPolicy
	}
	if p, ok := edge.Policy(name); ok && p.MinVersion < tls.VersionTLS12 {
		return badRequest("Mutual TLS authentication requires a security policy of TLS 1.2 or later; %s allows TLS 1.0", name)
	}
	return nil
}

// certCovers reports whether one of the certificate's names (its common
// name, its DNS names, wildcards one label deep) is name.
func certCovers(c *model.CertificateRecord, name string) bool {
	for _, n := range append([]string{c.DomainName}, c.SubjectAlternativeNames...) {
		n = strings.ToLower(n)
		if n == name {
			return true
		}
		if parent, ok := strings.CutPrefix(n, "*."); ok {
			if _, rest, found := strings.Cut(name, "."); found && rest == parent && !strings.HasPrefix(name, "*.") {
				return true
			}
		}
	}
	return false
}

// domainRef is the store key of the domain a request names: the path's
// name, and for a private domain its domainNameId query parameter.
func domainRef(r *http.Request) string {
	name := r.PathValue("domain")
	if strings.Contains(name, "+") {
		// A private domain is named by its id, not by its store key.
		return ""
	}
	if id := r.URL.Query().Get("domainNameId"); id != "" {
		return name + "+" + id
	}
	return name
}

func (a *API) loadDomainName(ctx context.Context, rd store.Reader, name string) (*model.DomainName, error) {
	d := new(model.DomainName)
	if strings.Count(name, "+") > 1 {
		return nil, errNoDomainName
	}
	if err := getJSON(ctx, rd, model.KindDomainName, strings.ToLower(name), d, errNoDomainName); err != nil {
		return nil, err
	}
	return d, nil
}

func (a *API) getDomainName(r *http.Request, _ []byte) (int, any, error) {
	d, err := a.loadDomainName(r.Context(), a.Store, domainRef(r))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, d, nil
}

func (a *API) getDomainNames(r *http.Request, _ []byte) (int, any, error) {
	ds, err := listJSON[model.DomainName](r.Context(), a.Store, model.KindDomainName, "")
	if err != nil {
		return 0, nil, err
	}
	p, err := paginate(r, ds, func(d *model.DomainName) string { return d.DomainName })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateDomainName(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateDomainNameInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	// A truststore is read before the transaction (fetching may take
	// seconds), from what the patch makes of the domain as it is now; the
	// transaction checks that the domain still says the same.
	pre, err := a.loadDomainName(ctx, a.Store, domainRef(r))
	if err != nil {
		return 0, nil, err
	}
	want, touched, err := patchMutualTLS(pre.MutualTLSAuthentication, ops)
	if err != nil {
		return 0, nil, err
	}
	var ts *model.Truststore
	if touched && want != nil {
		if ts, want.TruststoreWarnings, err = a.readTruststore(ctx, want); err != nil {
			return 0, nil, err
		}
	}
	var d *model.DomainName
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		if d, err = a.loadDomainName(ctx, tx, domainRef(r)); err != nil {
			return err
		}
		if touched {
			got, _, _ := patchMutualTLS(d.MutualTLSAuthentication, ops)
			if !sameTruststore(got, want) {
				return conflict("The domain name's mutual TLS authentication changed while its truststore was read; try again")
			}
			d.MutualTLSAuthentication = want
			if want == nil {
				if err := tx.Delete(ctx, model.KindTruststore, d.DomainName); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			} else if err := putJSON(ctx, tx, model.KindTruststore, d.DomainName, ts); err != nil {
				return err
			}
		}
		oldArn := d.ServedCertificateArn()
		for _, op := range ops {
			var err error
			switch strings.Join(op.Segs, "/") {
			case "mutualTlsAuthentication/truststoreUri", "mutualTlsAuthentication/truststoreVersion":
				// Applied above.
			case "certificateArn":
				err = patchString(op, &d.CertificateArn)
			case "certificateName":
				err = patchString(op, &d.CertificateName)
			case "regionalCertificateArn":
				err = patchString(op, &d.RegionalCertificateArn)
			case "regionalCertificateName":
				err = patchString(op, &d.RegionalCertificateName)
			case "securityPolicy":
				err = patchString(op, &d.SecurityPolicy)
			case "policy":
				if !d.Private() {
					return badRequest("A policy can only be set on a PRIVATE domain name")
				}
				err = patchString(op, &d.Policy)
			case "endpointConfiguration/types/0", "endpointConfiguration/types/EDGE", "endpointConfiguration/types/REGIONAL":
				if op.Op != "replace" || (op.value() != "EDGE" && op.value() != "REGIONAL") || d.Private() {
					return badRequest("Invalid endpoint configuration type %s", op.value())
				}
				d.EndpointConfiguration = &model.EndpointConfiguration{Types: []string{op.value()}}
			default:
				return errPatchPath(op)
			}
			if err != nil {
				return err
			}
		}
		// Moving from EDGE to REGIONAL (or back) leaves the other
		// type's certificate behind, as AWS does with one endpoint.
		if d.EndpointConfiguration.Types[0] == "REGIONAL" {
			d.CertificateArn, d.CertificateName = "", ""
		} else if !d.Private() {
			d.RegionalCertificateArn, d.RegionalCertificateName = "", ""
		}
		if err := a.checkDomain(ctx, tx, d); err != nil {
			return err
		}
		if d.ServedCertificateArn() != oldArn {
			d.CertificateUploadDate = a.now().Unix()
		}
		if !d.Private() {
			a.fillTargets(d, "d-"+newID(10))
		}
		return putJSON(ctx, tx, model.KindDomainName, d.Key(), d)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, d, nil
}

func (a *API) deleteDomainName(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		d, err := a.loadDomainName(ctx, tx, domainRef(r))
		if err != nil {
			return err
		}
		for _, kind := range []string{model.KindBasePathMapping, model.KindDomainAccess} {
			items, err := tx.List(ctx, kind, d.Key()+"/")
			if err != nil {
				return err
			}
			for _, it := range items {
				if err := tx.Delete(ctx, kind, it.Key); err != nil {
					return err
				}
			}
		}
		if d.MutualTLSAuthentication != nil {
			if err := tx.Delete(ctx, model.KindTruststore, d.DomainName); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return tx.Delete(ctx, model.KindDomainName, d.Key())
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// patchMutualTLS applies the patch's mutualTlsAuthentication operations
// to a copy of m: the result (nil when mutual TLS is off: an empty
// truststoreUri, as AWS turns it off) and whether any operation named it.
func patchMutualTLS(m *model.MutualTLS, ops []PatchOp) (*model.MutualTLS, bool, error) {
	var out model.MutualTLS
	if m != nil {
		out = model.MutualTLS{TruststoreURI: m.TruststoreURI, TruststoreVersion: m.TruststoreVersion}
	}
	touched := false
	for _, op := range ops {
		var err error
		switch strings.Join(op.Segs, "/") {
		case "mutualTlsAuthentication/truststoreUri":
			err = patchString(op, &out.TruststoreURI)
		case "mutualTlsAuthentication/truststoreVersion":
			err = patchString(op, &out.TruststoreVersion)
		default:
			continue
		}
		if err != nil {
			return nil, false, err
		}
		touched = true
	}
	if out.TruststoreURI == "" {
		return nil, touched, nil
	}
	return &out, touched, nil
}

func sameTruststore(a, b *model.MutualTLS) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.TruststoreURI == b.TruststoreURI && a.TruststoreVersion == b.TruststoreVersion
}

// checkMapping refuses a mapping to an API or stage that does not exist.
func (a *API) checkMapping(ctx context.Context, rd store.Reader, d *model.DomainName, m *model.BasePathMapping) error {
	if m.RestApiID == "" {
		return badRequest("Invalid REST API identifier specified")
	}
	api, err := a.loadRestApi(ctx, rd, m.RestApiID)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Status == http.StatusNotFound {
			return badRequest("Invalid REST API identifier specified")
		}
		return err
	}
	if d.Private() && !api.Private() {
		return badRequest("Only PRIVATE REST APIs can be mapped to a PRIVATE domain name")
	}
	if m.Stage != "" {
		if _, err := rd.Get(ctx, model.KindStage, model.ChildKey(m.RestApiID, m.Stage)); errors.Is(err, store.ErrNotFound) {
			return badRequest("Invalid stage identifier specified")
		} else if err != nil {
			return err
		}
	}
	return nil
}

// normBasePath is a base path of the apigateway (v1) API as stored and
// answered: "(none)" for the empty one. V1 refuses multi-level ones.
func normBasePath(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" || p == model.NoBasePath {
		return model.NoBasePath, nil
	}
	if strings.Contains(p, "/") {
		return "", errBasePathSlash
	}
	if !basePathRE.MatchString(p) {
		return "", errBadBasePath
	}
	return p, nil
}

func (a *API) createBasePathMapping(r *http.Request, body []byte) (int, any, error) {
	var m model.BasePathMapping
	if err := decodeJSON(body, &m); err != nil {
		return 0, nil, err
	}
	bp, err := normBasePath(m.BasePath)
	if err != nil {
		return 0, nil, err
	}
	m.BasePath, m.ID = bp, newID(apiMappingIDLen)
	ctx := r.Context()
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		d, err := a.loadDomainName(ctx, tx, domainRef(r))
		if err != nil {
			return err
		}
		if err := a.checkMapping(ctx, tx, d, &m); err != nil {
			return err
		}
		key := model.BasePathKey(d.Key(), m.BasePath)
		if err := mappingFree(ctx, tx, key, errBasePathExists); err != nil {
			return err
		}
		return putJSON(ctx, tx, model.KindBasePathMapping, key, &m)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, v1Mapping(&m), nil
}

// v1Mapping is a mapping as the apigateway API answers it: without the
// apigatewayv2 id.
func v1Mapping(m *model.BasePathMapping) *model.BasePathMapping {
	c := *m
	c.ID = ""
	return &c
}

func (a *API) loadBasePathMapping(ctx context.Context, rd store.Reader, domain, basePath string) (*model.DomainName, *model.BasePathMapping, error) {
	d, err := a.loadDomainName(ctx, rd, domain)
	if err != nil {
		return nil, nil, err
	}
	bp, err := normBasePath(basePath)
	if err != nil {
		return nil, nil, errNoBasePathMapping
	}
	m := new(model.BasePathMapping)
	if err := getJSON(ctx, rd, model.KindBasePathMapping, model.BasePathKey(d.Key(), bp), m, errNoBasePathMapping); err != nil {
		return nil, nil, err
	}
	return d, m, nil
}

func (a *API) getBasePathMapping(r *http.Request, _ []byte) (int, any, error) {
	_, m, err := a.loadBasePathMapping(r.Context(), a.Store, domainRef(r), r.PathValue("basepath"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v1Mapping(m), nil
}

func (a *API) getBasePathMappings(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	d, err := a.loadDomainName(ctx, a.Store, domainRef(r))
	if err != nil {
		return 0, nil, err
	}
	all, err := listJSON[model.BasePathMapping](ctx, a.Store, model.KindBasePathMapping, d.Key()+"/")
	if err != nil {
		return 0, nil, err
	}
	// Multi-level mappings are apigatewayv2's: the v1 API lists the
	// single-level ones.
	var ms []*model.BasePathMapping
	for _, m := range all {
		if !m.MultiLevel() {
			ms = append(ms, v1Mapping(m))
		}
	}
	p, err := paginate(r, ms, func(m *model.BasePathMapping) string { return m.BasePath })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (a *API) updateBasePathMapping(r *http.Request, body []byte) (int, any, error) {
	ops, err := ParsePatch(body, "updateBasePathMappingInput")
	if err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	var m *model.BasePathMapping
	err = a.Store.Update(ctx, func(tx store.Tx) error {
		var d *model.DomainName
		if d, m, err = a.loadBasePathMapping(ctx, tx, domainRef(r), r.PathValue("basepath")); err != nil {
			return err
		}
		oldKey := model.BasePathKey(d.Key(), m.BasePath)
		m.ID = mappingID(oldKey, m)
		for _, op := range ops {
			if op.Op != "replace" {
				return errPatchPath(op)
			}
			switch strings.Join(op.Segs, "/") {
			case "basePath":
				if m.BasePath, err = normBasePath(op.value()); err != nil {
					return err
				}
			case "restapiId", "restApiId":
				m.RestApiID = op.value()
			case "stage":
				m.Stage = op.value()
			default:
				return errPatchPath(op)
			}
		}
		if err := a.checkMapping(ctx, tx, d, m); err != nil {
			return err
		}
		key := model.BasePathKey(d.Key(), m.BasePath)
		return putMapping(ctx, tx, oldKey, key, m, errBasePathExists)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v1Mapping(m), nil
}

func (a *API) deleteBasePathMapping(r *http.Request, _ []byte) (int, any, error) {
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		d, m, err := a.loadBasePathMapping(ctx, tx, domainRef(r), r.PathValue("basepath"))
		if err != nil {
			return err
		}
		return tx.Delete(ctx, model.KindBasePathMapping, model.BasePathKey(d.Key(), m.BasePath))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}
