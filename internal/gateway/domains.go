package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/apigw/apigw/internal/model"
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
}

type domainMapping struct {
	prefix string // "/v1", or "" for (none)
	apiID  string
	stage  string // "" means the path's first segment names the stage
}

// loadDomains reads every domain name and base path mapping.
func (g *Gateway) loadDomains(ctx context.Context) (domainTable, []*model.DomainName, error) {
	items, err := g.Store.List(ctx, model.KindDomainName, "")
	if err != nil {
		return nil, nil, err
	}
	t := domainTable{}
	var domains []*model.DomainName
	for _, it := range items {
		d := new(model.DomainName)
		if err := json.Unmarshal(it.Value, d); err != nil {
			return nil, nil, fmt.Errorf("gateway: decode domain name %s: %w", it.Key, err)
		}
		domains = append(domains, d)
		t[d.DomainName] = &domainRoutes{name: d.DomainName, mtls: d.MutualTLSAuthentication != nil}
	}
	maps, err := g.Store.List(ctx, model.KindBasePathMapping, "")
	if err != nil {
		return nil, nil, err
	}
	for _, it := range maps {
		name, _, _ := strings.Cut(it.Key, "/")
		dr := t[name]
		if dr == nil {
			continue
		}
		m := new(model.BasePathMapping)
		if err := json.Unmarshal(it.Value, m); err != nil {
			return nil, nil, fmt.Errorf("gateway: decode base path mapping %s: %w", it.Key, err)
		}
		dm := domainMapping{apiID: m.RestApiID, stage: m.Stage}
		if m.BasePath != model.NoBasePath && m.BasePath != "" {
			dm.prefix = "/" + m.BasePath
		}
		dr.mappings = append(dr.mappings, dm)
	}
	for _, dr := range t {
		sort.Slice(dr.mappings, func(i, j int) bool { return len(dr.mappings[i].prefix) > len(dr.mappings[j].prefix) })
	}
	return t, domains, nil
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
