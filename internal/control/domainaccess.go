package control

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/policy"
	"github.com/apigw/apigw/internal/store"
)

// Private custom domain names and their access associations: a PRIVATE
// domain is reached only through a VPC endpoint associated with it, and its
// policy decides which calls through one are let in.

var (
	errNoAccessAssociation = notFound("Invalid domain name access association identifier specified")
	errAccessExists        = conflict("A domain name access association already exists for this domain name and access association source")
)

// vpceRE is a VPC endpoint id as AWS writes them.
var vpceRE = regexp.MustCompile(`^vpce-[0-9a-z]{1,32}$`)

// privateIDLen is the length of a private domain's domainNameId.
const privateIDLen = 10

// checkPrivateDomain applies AWS's rules to a PRIVATE domain: an ACM
// certificate (certificateArn), TLS_1_2, a policy that parses.
func checkPrivateDomain(d *model.DomainName) error {
	if d.RegionalCertificateArn != "" || d.RegionalCertificateName != "" {
		return badRequest("Cannot import certificates for REGIONAL while PRIVATE is active.")
	}
	if d.CertificateArn == "" {
		return badRequest("A certificate ARN must be provided for a PRIVATE domain name")
	}
	if d.SecurityPolicy == "" {
		d.SecurityPolicy = "TLS_1_2"
	}
	if d.SecurityPolicy != "TLS_1_2" {
		return badRequest("Security policy %s is not supported for PRIVATE endpoints", d.SecurityPolicy)
	}
	if d.Policy == "" {
		return nil
	}
	expanded := model.ExpandPolicy(d.Policy, "us-east-1", "000000000000", "")
	if _, err := policy.ParseWith([]byte(expanded), policy.ParseOptions{RequirePrincipal: true}); err != nil {
		return badRequest("Invalid policy document. Please check the policy syntax and try again.")
	}
	return nil
}

// privateDomainArn is a private domain's ARN, which names it with its id.
func (a *API) privateDomainArn(key string) string {
	return "arn:aws:apigateway:" + a.Region + ":" + a.AccountID + ":/domainnames/" + key
}

// putPrivateDomain gives a new private domain its id and ARN and stores
// it. An account has one private domain of a name (another account may
// have its own, as on AWS), besides a public one of that name.
func (a *API) putPrivateDomain(ctx context.Context, tx store.Tx, d *model.DomainName) error {
	items, err := tx.List(ctx, model.KindDomainName, d.DomainName+"+")
	if err != nil {
		return err
	}
	if len(items) > 0 {
		return errDomainExists
	}
	d.DomainNameID = newID(privateIDLen)
	d.DomainNameArn = a.privateDomainArn(d.Key())
	return putJSON(ctx, tx, model.KindDomainName, d.Key(), d)
}

// privateDomainKey is the store key of a private domain's ARN, or "".
func (a *API) privateDomainKey(arn string) string {
	key, ok := strings.CutPrefix(arn, a.privateDomainArn(""))
	if !ok || strings.Count(key, "+") != 1 || strings.Contains(key, "/") {
		return ""
	}
	return strings.ToLower(key)
}

// accessArn is the ARN of the association of a domain (by key) and a VPC
// endpoint.
func (a *API) accessArn(domainKey, vpce string) string {
	return "arn:aws:apigateway:" + a.Region + ":" + a.AccountID + ":/domainnameaccessassociations/domainname/" + domainKey + "/vpcesource/" + vpce
}

// accessKey is the store key of an association's ARN, or "".
func (a *API) accessKey(arn string) string {
	rest, ok := strings.CutPrefix(arn, "arn:aws:apigateway:"+a.Region+":"+a.AccountID+":/domainnameaccessassociations/domainname/")
	if !ok {
		return ""
	}
	domain, vpce, ok := strings.Cut(rest, "/vpcesource/")
	if !ok || strings.Count(domain, "+") != 1 || strings.Contains(domain, "/") || !vpceRE.MatchString(vpce) {
		return ""
	}
	return domain + "/" + vpce
}

func (a *API) createDomainAccess(r *http.Request, body []byte) (int, any, error) {
	var in model.DomainAccessAssociation
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case in.DomainNameArn == "":
		return 0, nil, badRequest("Domain name ARN must be specified")
	case in.SourceType == "":
		return 0, nil, badRequest("Access association source type must be specified")
	case in.SourceType != "VPCE":
		return 0, nil, badRequest("Invalid access association source type %s. Supported types: [VPCE]", in.SourceType)
	case in.Source == "":
		return 0, nil, badRequest("Access association source must be specified")
	case !vpceRE.MatchString(in.Source):
		return 0, nil, badRequest("Invalid VPC endpoint identifier specified: %s", in.Source)
	}
	if err := checkTags(in.Tags); err != nil {
		return 0, nil, err
	}
	key := a.privateDomainKey(in.DomainNameArn)
	if key == "" {
		return 0, nil, badRequest("Invalid domain name ARN specified: %s", in.DomainNameArn)
	}
	ctx := r.Context()
	err := a.Store.Update(ctx, func(tx store.Tx) error {
		d, err := a.loadDomainName(ctx, tx, key)
		if err != nil {
			return err
		}
		in.DomainNameArn = d.DomainNameArn
		in.Arn = a.accessArn(d.Key(), in.Source)
		k := d.Key() + "/" + in.Source
		if _, err := tx.Get(ctx, model.KindDomainAccess, k); err == nil {
			return errAccessExists
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return putJSON(ctx, tx, model.KindDomainAccess, k, &in)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, &in, nil
}

func (a *API) getDomainAccesses(r *http.Request, _ []byte) (int, any, error) {
	var items []*model.DomainAccessAssociation
	switch owner := r.URL.Query().Get("resourceOwner"); owner {
	case "", "SELF":
		var err error
		if items, err = listJSON[model.DomainAccessAssociation](r.Context(), a.Store, model.KindDomainAccess, ""); err != nil {
			return 0, nil, err
		}
	case "OTHER_ACCOUNTS":
		// apigw has one account: no other account associates its
		// endpoints with this one's domains.
	default:
		return 0, nil, badRequest("Invalid resourceOwner %s. Supported values: [SELF, OTHER_ACCOUNTS]", owner)
	}
	p, err := paginate(r, items, func(d *model.DomainAccessAssociation) string { return d.Arn })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

// deleteAccess removes the association arn names; domainArn, if not "",
// must be its domain's.
func (a *API) deleteAccess(ctx context.Context, arn, domainArn string) error {
	key := a.accessKey(arn)
	if key == "" {
		return errNoAccessAssociation
	}
	return a.Store.Update(ctx, func(tx store.Tx) error {
		var as model.DomainAccessAssociation
		if err := getJSON(ctx, tx, model.KindDomainAccess, key, &as, errNoAccessAssociation); err != nil {
			return err
		}
		if domainArn != "" && domainArn != as.DomainNameArn {
			return errNoAccessAssociation
		}
		return tx.Delete(ctx, model.KindDomainAccess, key)
	})
}

func (a *API) deleteDomainAccess(r *http.Request, _ []byte) (int, any, error) {
	if err := a.deleteAccess(r.Context(), r.PathValue("arn"), ""); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}

// rejectDomainAccess is the domain owner's refusal of an association. With
// one account, the owner and the endpoint's owner are the same, and a
// rejected association is removed as a deleted one is.
func (a *API) rejectDomainAccess(r *http.Request, _ []byte) (int, any, error) {
	q := r.URL.Query()
	arn, domainArn := q.Get("domainNameAccessAssociationArn"), q.Get("domainNameArn")
	if arn == "" {
		return 0, nil, badRequest("Domain name access association ARN must be specified")
	}
	if domainArn == "" {
		return 0, nil, badRequest("Domain name ARN must be specified")
	}
	if err := a.deleteAccess(r.Context(), arn, domainArn); err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, nil, nil
}
