package gateway

import "testing"

func TestDomainLookup(t *testing.T) {
	tbl := domainTable{
		"api.example.test": {name: "api.example.test", mappings: []domainMapping{
			{prefix: "/orders", apiID: "a2", stage: "v2"},
			{prefix: "/any", apiID: "a3"},
			{prefix: "", apiID: "a1", stage: "prod"},
		}},
		"*.wild.test": {name: "*.wild.test", mappings: []domainMapping{{prefix: "/v1", apiID: "w", stage: "s"}}},
	}
	for _, tc := range []struct {
		host, path               string
		ok                       bool
		domain, api, stage, rest string
	}{
		{"api.example.test", "/2", true, "api.example.test", "a1", "prod", "/2"},
		{"API.example.test:8443", "/", true, "api.example.test", "a1", "prod", "/"},
		{"api.example.test", "/orders", true, "api.example.test", "a2", "v2", "/"},
		{"api.example.test", "/orders/7", true, "api.example.test", "a2", "v2", "/7"},
		{"api.example.test", "/ordersx/7", true, "api.example.test", "a1", "prod", "/ordersx/7"},
		{"api.example.test", "/any/dev/x", true, "api.example.test", "a3", "dev", "/x"},
		{"api.example.test", "/any", false, "", "", "", ""},
		{"x.wild.test", "/v1/a", true, "x.wild.test", "w", "s", "/a"},
		{"x.wild.test", "/v2/a", false, "", "", "", ""},
		{"a.b.wild.test", "/v1/a", false, "", "", "", ""},
		{"other.test", "/v1", false, "", "", "", ""},
	} {
		t.Run(tc.host+tc.path, func(t *testing.T) {
			_, d, api, stage, rest, ok := tbl.lookup(tc.host, tc.path)
			if ok != tc.ok || d != tc.domain || api != tc.api || stage != tc.stage || rest != tc.rest {
				t.Errorf("lookup = %q %q %q %q %v, want %q %q %q %q %v", d, api, stage, rest, ok, tc.domain, tc.api, tc.stage, tc.rest, tc.ok)
			}
		})
	}
	if _, _, _, _, _, ok := domainTable(nil).lookup("api.example.test", "/"); ok {
		t.Error("nil table matched")
	}
}
