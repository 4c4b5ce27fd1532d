package openapi

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apigw/apigw/internal/model"
)

var update = flag.Bool("update", false, "rewrite the golden exports in testdata")

// snapshotOf stands in for what control stores: ids for what the import
// named.
func snapshotOf(t *testing.T, a *API) *model.Snapshot {
	t.Helper()
	snap := &model.Snapshot{Api: a.RestApi, Models: a.Models, RequestValidators: a.Validators, GatewayResponses: a.GatewayResponses, Authorizers: a.Authorizers}
	snap.Api.ID = "abcdef1234"
	for i, au := range a.Authorizers {
		au.ID = au.Name + string(rune('0'+i))
	}
	for i, v := range a.Validators {
		v.ID = v.Name + string(rune('0'+i))
	}
	for _, res := range a.Resources {
		for _, m := range res.ResourceMethods {
			for _, au := range a.Authorizers {
				if au.Name == m.AuthorizerID {
					m.AuthorizerID = au.ID
				}
			}
			for _, v := range a.Validators {
				if v.Name == m.RequestValidatorID {
					m.RequestValidatorID = v.ID
				}
			}
		}
	}
	snap.Resources = a.Resources
	return snap
}

// TestGolden imports every testdata/*.json input and compares its export
// (oas30, extensions=apigateway) with testdata/*.export.json beside it.
func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.json")
	for _, in := range inputs {
		if strings.HasSuffix(in, ".export.json") {
			continue
		}
		t.Run(filepath.Base(in), func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Import(b, Options{APIID: "abcdef1234"})
			if err != nil {
				t.Fatal(err)
			}
			out, err := Export(snapshotOf(t, a), ExportOptions{Stage: "prod", Region: "us-east-1", Extensions: []string{"apigateway"}, Created: time.Unix(0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".json") + ".export.json"
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != string(want) {
				t.Errorf("export differs from %s:\n%s", golden, out)
			}
		})
	}
}

func TestImport(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		opt       Options
		paths     string
		err       string
	}{
		{name: "not a document", doc: "]]", err: "openapi: invalid input"},
		{name: "no version", doc: `{"info":{"title":"x"}}`, err: "openapi: invalid input"},
		{name: "swagger yaml", doc: "swagger: '2.0'\ninfo: {title: s, version: '1'}\nbasePath: /v1/api\npaths:\n  /a:\n    get:\n      responses: {'200': {description: ok}}\n",
			opt: Options{BasePath: BasePathPrepend}, paths: "/ /v1 /v1/api /v1/api/a"},
		{name: "split", doc: "swagger: '2.0'\ninfo: {title: s, version: '1'}\nbasePath: /v1/api\npaths:\n  /a: {get: {responses: {'200': {description: ok}}}}\n",
			opt: Options{BasePath: BasePathSplit}, paths: "/ /api /api/a"},
		{name: "ignore", doc: "swagger: '2.0'\ninfo: {title: s, version: '1'}\nbasePath: /v1/api\npaths:\n  /a: {get: {responses: {'200': {description: ok}}}}\n",
			paths: "/ /a"},
		{name: "bad path part", doc: `{"openapi":"3.0.1","info":{"title":"x","version":"1"},"paths":{"/a b":{"get":{"responses":{}}}}}`,
			err: "Errors found during import:\n\tUnable to create resource at path '/a b': Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace."},
		{name: "unknown validator", doc: `{"openapi":"3.0.1","info":{"title":"x","version":"1"},"paths":{"/a":{"get":{"responses":{},"x-amazon-apigateway-request-validator":"v"}}}}`,
			err: "Errors found during import:\n\tUnable to put method 'GET' on resource at path '/a': Invalid Request Validator identifier specified"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := Import([]byte(c.doc), c.opt)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ps []string
			for _, r := range a.Resources {
				ps = append(ps, r.Path)
			}
			if got := strings.Join(ps, " "); got != c.paths {
				t.Errorf("paths %q, want %q", got, c.paths)
			}
		})
	}
}

// FuzzImport: no input panics the importer, and what it accepts exports.
func FuzzImport(f *testing.F) {
	if b, err := os.ReadFile("testdata/petstore.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("swagger: '2.0'\ninfo: {title: s, version: '1'}\npaths: {/a: {get: {responses: {'200': {description: ok}}}}}\n"))
	f.Add([]byte(`{"openapi":"3.0.1","info":{"title":"x","version":"1"},"paths":{"/{p+}":{"x-amazon-apigateway-any-method":{"x-amazon-apigateway-integration":{"type":"mock","responses":{"default":{"statusCode":200}}}}}}}`))
	// Inputs that were slow before the bounds of limits.go.
	f.Add(nested(200))
	f.Add(wide(20, 60))
	f.Add([]byte("openapi: 3.0.1\ninfo: {title: x, version: '1'}\nx-d: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Import(b, Options{APIID: "abcdef1234", BasePath: BasePathPrepend})
		if err != nil {
			return
		}
		if _, err := Export(snapshotOf(t, a), ExportOptions{Extensions: []string{"apigateway"}}); err != nil {
			if !json.Valid(b) {
				return
			}
			t.Logf("export: %v", err)
		}
	})
}
