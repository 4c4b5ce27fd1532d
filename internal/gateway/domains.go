package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/policy"
)

// domainTable is the custom domain names, compiled on Sync: the host (or
// "*.parent" for a wildcard domain) → its base path mappings. The resolve
// step looks in it only for hosts that are not execute-api ones.
type domainTable map[string]*domainRoutes

// domainRoutes are one domain's mappings, longest base path first; the
// empty base path ("(none)") is last and matches every path.
type domainRoutes struct {
	name     string
	mappings []domainMapping
	// mtls: callers must come over TLS, with this domain's name in SNI
	// (its truststore verified their certificate in the handshake).
	mtls bool
	// private is set for a PRIVATE domain, reached through the VPC
	// endpoints it is associated with only.
	private *privateDomain
}

// privateDomain is what lets a call through a VPC endpoint into a private
// domain: an access association of the endpoint, then the domain's policy.
type privateDomain struct {
	arn    string          // arn:aws:apigateway:{region}:{account}:/domainnames/{name}+{id}
	vpces  map[string]bool // the associated VPC endpoints
	policy *policy.Document
}

type domainMapping struct {
	prefix string // "/v1", or "" for (none)
	apiID  string
	stage  string // "" means the path's first segment names the stage
}

// loadDomains reads every domain name, base path mapping and access
// association: the public domains by name, the private ones by name, and
// the public domains' records (whose certificates the TLS listener serves).
func (g *Gateway) loadDomains(ctx context.Context) (public, private domainTable, domains []*model.DomainName, err error) {
	items, err := g.Store.List(ctx, model.KindDomainName, "")
	if err != nil {
		return nil, nil, nil, err
	}
	public, private = domainTable{}, domainTable{}
	byKey := map[string]*domainRoutes{} // by store key
	for _, it := range items {
		d := new(model.DomainName)
		if err := json.Unmarshal(it.Value, d); err != nil {
			return nil, nil, nil, fmt.Errorf("gateway: decode domain name %s: %w", it.Key, err)
		}
		dr := &domainRoutes{name: d.DomainName, mtls: d.MutualTLSAuthentication != nil}
		byKey[d.Key()] = dr
		if !d.Private() {
			domains = append(domains, d)
			public[d.DomainName] = dr
			continue
		}
		dr.private = &privateDomain{arn: g.privateDomainARN(d), vpces: map[string]bool{}, policy: denyAll}
		if d.Policy != "" {
			// A policy that does not parse admits nobody.
			doc := model.ExpandPolicy(d.Policy, g.Region, g.AccountID, "")
			if p, err := policy.ParseWith([]byte(doc), policy.ParseOptions{RequirePrincipal: true}); err == nil {
				dr.private.policy = p
			}
		}
		private[d.DomainName] = dr
	}
	access, err := g.Store.List(ctx, model.KindDomainAccess, "")
	if err != nil {
		return nil, nil, nil, err
	}
	for _, it := range access {
		key, vpce, _ := strings.Cut(it.Key, "/")
		if dr := byKey[key]; dr != nil && dr.private != nil {
			dr.private.vpces[vpce] = true
		}
	}
	maps, err := g.Store.List(ctx, model.KindBasePathMapping, "")
	if err != nil {
		return nil, nil, nil, err
	}
	for _, it := range maps {
		key, _, _ := strings.Cut(it.Key, "/")
		dr := byKey[key]
		if dr == nil {
			continue
		}
		m := new(model.BasePathMapping)
		if err := json.Unmarshal(it.Value, m); err != nil {
			return nil, nil, nil, fmt.Errorf("gateway: decode base path mapping %s: %w", it.Key, err)
		}
		dm := domainMapping{apiID: m.RestApiID, stage: m.Stage}
		if m.BasePath != model.NoBasePath && m.BasePath != "" {
			dm.prefix = "/" + m.BasePath
		}
		dr.mappings = append(dr.mappings, dm)
	}
	for _, dr := range byKey {
		sort.Slice(dr.mappings, func(i, j int) bool { return len(dr.mappings[i].prefix) > len(dr.mappings[j].prefix) })
	}
	return public, private, domains, nil
}

// privateDomainARN is the resource of execute-api:Invoke on a private
// domain: arn:aws:execute-api:{region}:{account}:/domainnames/{name}+{id}.
func (g *Gateway) privateDomainARN(d *model.DomainName) string {
	return "arn:aws:execute-api:" + g.Region + ":" + g.AccountID + ":/domainnames/" + d.Key()
}

// admitPrivate decides a call through VPC endpoint rq.SourceVpce into the
// private domain dr: the endpoint must be associated with the domain, and
// the domain's policy must allow the call (an explicit deny, or no allow,
// refuses it). Both refusals are AWS's 403 Forbidden.
func (g *Gateway) admitPrivate(rq *request, dr *domainRoutes) bool {
	pd := dr.private
	if pd == nil || !pd.vpces[rq.SourceVpce] {
		return false
	}
	req := &policy.Request{Action: invokeAction, Resource: pd.arn, Context: conditionContext(rq, nil),
		Principal: &policy.Principal{Anonymous: true}}
	return pd.policy.Evaluate(req) == policy.Allow
}

// find is the custom domain of host (port removed, exact name, then a
// wildcard one label up), or nil; host is also what the domain is known
// by in the request ($context.domainName).
func (t domainTable) find(host string) (dr *domainRoutes, name string) {
	if len(t) == 0 || host == "" {
		return nil, ""
	}
	host = strings.ToLower(host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	dr = t[host]
	if dr == nil {
		if _, parent, found := strings.Cut(host, "."); found {
			dr = t["*."+parent]
		}
	}
	return dr, host
}

// lookup finds the custom domain of host and the mapping of path (longest
// base path). It returns the domain, the API, the stage and the path below
// the stage.
func (t domainTable) lookup(host, p string) (dr *domainRoutes, domain, apiID, stage, rest string, ok bool) {
	dr, host = t.find(host)
	if dr == nil {
		return nil, "", "", "", "", false
	}
	for _, m := range dr.mappings {
		if m.prefix != "" {
			r, found := strings.CutPrefix(p, m.prefix)
			if !found || (r != "" && r[0] != '/') {
				continue
			}
			p = r
		}
		if p == "" {
			p = "/"
		}
		stage = m.stage
		if stage == "" {
			s := strings.TrimLeft(p, "/")
			if i := strings.IndexByte(s, '/'); i >= 0 {
				stage, p = s[:i], s[i:]
			} else {
				stage, p = s, "/"
			}
			if stage == "" {
				return nil, "", "", "", "", false
			}
		}
		return dr, host, m.apiID, stage, p, true
	}
	return nil, "", "", "", "", false
}
