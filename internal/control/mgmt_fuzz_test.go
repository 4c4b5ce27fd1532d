package control

import (
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/model"
)

// FuzzParseTagARN: no ARN makes the parser panic, and an accepted one has
// non-empty segments.
func FuzzParseTagARN(f *testing.F) {
	for _, s := range []string{"arn:aws:apigateway:us-east-1::/restapis/abc", "arn:aws:apigateway:us-east-1::/restapis/abc/stages/dev",
		"arn:aws:apigateway:us-east-1::/", "arn:aws:apigateway:us-east-1::", "arn:", "", "arn:aws:apigateway:us-east-1::/a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		segs, ok := parseTagARN(arn, "us-east-1", "000000000000")
		if !ok {
			return
		}
		for _, s := range segs {
			if s == "" {
				t.Fatalf("%q: empty segment in %q", arn, segs)
			}
		}
	})
}

// FuzzParseImportedDocs: no document makes the import panic; every part it
// returns has a valid location and JSON object properties.
func FuzzParseImportedDocs(f *testing.F) {
	for _, s := range []string{
		`{"x-amazon-apigateway-documentation":{"documentationParts":[{"location":{"type":"API"},"properties":{"a":1}}]}}`,
		`{"x-amazon-apigateway-documentation":{"documentationParts":[{"location":{"type":"RESOURCE","method":"GET"},"properties":{}}]}}`,
		`{"x-amazon-apigateway-documentation":{"documentationParts":[{"location":{"type":"RESPONSE","statusCode":"2xx"},"properties":[]}]}}`,
		`{}`, `[]`, ``, `{"x-amazon-apigateway-documentation":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		parts, _, err := parseImportedDocs(body)
		if err != nil {
			return
		}
		for _, p := range parts {
			loc := p.Location
			if err := checkDocLocation(&loc, "x"); err != nil || loc != p.Location {
				t.Fatalf("part at %+v: location not canonical (%v)", p.Location, err)
			}
			if err := checkDocProperties(&p.Properties, "x"); err != nil || !strings.HasPrefix(p.Properties, "{") {
				t.Fatalf("part at %+v: properties %q", p.Location, p.Properties)
			}
		}
	})
}

// FuzzMappingKey: no API mapping key makes the check panic; an accepted
// one is "(none)" or levels of allowed characters joined by single
// slashes, at most 300 characters, and v1 takes exactly the single-level
// ones.
func FuzzMappingKey(f *testing.F) {
	for _, s := range []string{"v1", "v1/orders", "", "(none)", "/v1", "v1/", "v1//x", "a b", "$-_.+!*'()", "ü", strings.Repeat("a/", 151)} {
		f.Add(s)
	}
	regional := &model.DomainName{EndpointConfiguration: &model.EndpointConfiguration{Types: []string{"REGIONAL"}}, SecurityPolicy: "TLS_1_2"}
	f.Fuzz(func(t *testing.T, key string) {
		k, err := normMappingKey(regional, key)
		if err != nil {
			return
		}
		if k == model.NoBasePath {
			if key != "" && key != model.NoBasePath {
				t.Fatalf("%q taken as (none)", key)
			}
			return
		}
		if k != key || len(k) > maxMappingKey {
			t.Fatalf("%q stored as %q", key, k)
		}
		for _, level := range strings.Split(k, "/") {
			if level == "" || strings.Trim(level, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789$-_.+!*'()") != "" {
				t.Fatalf("%q: bad level %q", key, level)
			}
		}
		v1, err := normBasePath(k)
		if multi := strings.Contains(k, "/"); multi != (err != nil) || (!multi && v1 != k) {
			t.Fatalf("%q: v1 gives %q, %v", k, v1, err)
		}
	})
}

// FuzzAccessARN: no ARN makes the parsers of private domain and access
// association ARNs panic; an accepted one gives a key that names it back.
func FuzzAccessARN(f *testing.F) {
	a := &API{Region: "us-east-1", AccountID: "000000000000"}
	for _, s := range []string{a.accessArn("p.example.test+abc123", "vpce-0abc"), a.privateDomainArn("p.example.test+abc123"),
		"arn:aws:apigateway:us-east-1:000000000000:/domainnameaccessassociations/domainname/a+b/vpcesource/", "arn:", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		if key := a.accessKey(arn); key != "" {
			domain, vpce, _ := strings.Cut(key, "/")
			if a.accessArn(domain, vpce) != arn {
				t.Fatalf("%q: key %q names %q", arn, key, a.accessArn(domain, vpce))
			}
		}
		if key := a.privateDomainKey(arn); key != "" && !strings.EqualFold(a.privateDomainArn(key), arn) {
			t.Fatalf("%q: key %q names %q", arn, key, a.privateDomainArn(key))
		}
	})
}
