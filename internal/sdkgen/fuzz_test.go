package sdkgen_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/apigw/apigw/internal/apigwtest"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/sdkgen"
)

// hostileSnapshot is an API whose names hold what could break out of a
// JavaScript string or comment.
func hostileSnapshot(name, path, verb, param string) *model.Snapshot {
	return &model.Snapshot{
		DeploymentID: "d*/1",
		Api:          model.RestApi{ID: "abc", Name: name},
		Resources: []*model.Resource{{Path: path, ResourceMethods: map[string]*model.Method{
			verb: {HTTPMethod: verb, AuthorizationType: "AWS_IAM", RequestParameters: map[string]bool{
				"method.request.querystring." + param: true, "method.request.header." + param: false,
			}},
		}}},
	}
}

// FuzzJavaScript: resource paths, methods and parameter names (all from
// management requests) never make generation fail or panic, method names
// are identifiers, and every name reaches apigClient.js only as a JSON
// string.
func FuzzJavaScript(f *testing.F) {
	f.Add("pets */ api", "/pets/{petId}", "GET", "q")
	f.Add("x\u2028y", "/{a}/{b+}", "POST", "x-y\"z")
	f.Add("", "/", "", "")
	f.Add("</script>", "/a'b/\"c\"/`d`/${e}", "OPTIONS", "*/ alert(1) /*")
	f.Fuzz(func(t *testing.T, name, path, verb, param string) {
		snap := hostileSnapshot(name, path, verb, param)
		for _, m := range sdkgen.Methods(snap) {
			for i, r := range m.Name {
				if !(r == '_' || r == '$' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r))) {
					t.Fatalf("method name %q of %s %q is not an identifier", m.Name, verb, path)
				}
			}
		}
		b, err := sdkgen.JavaScript(snap, sdkgen.Options{Stage: "s*/", InvokeURL: "http://h/x", Now: time.Unix(0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, zf := range zr.File {
			if zf.Name != sdkgen.Root+"/apigClient.js" {
				continue
			}
			rc, _ := zf.Open()
			js, _ := io.ReadAll(rc)
			rc.Close()
			for _, m := range sdkgen.Methods(snap) {
				q, _ := json.Marshal(m.Name)
				if !bytes.Contains(js, []byte("apigClient["+string(q)+"]")) {
					t.Fatalf("apigClient.js lacks method %s", q)
				}
			}
			// Nothing closes the header comment early.
			if head, _, _ := strings.Cut(string(js), "*/\n"); strings.Contains(head[2:], "*/") {
				t.Fatalf("the header comment is closed early: %q", head)
			}
		}
	})
}

// TestJavaScriptHostileNames: node parses and loads the client of APIs
// whose names hold quotes, comment ends, script tags and line separators.
func TestJavaScriptHostileNames(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the generated JavaScript is not run")
	}
	for i, tc := range []struct{ name, path, verb, param string }{
		{"pets */ api", "/pets/{petId}", "GET", "q"},
		{"x\u2028y\nz", "/{a}/{b+}", "POST", "x-y\"z"},
		{"</script>", "/a'b/\"c\"/`d`/${e}", "OPTIONS", "*/ alert(1) /*"},
		{"é", "/caf\u00e9/\u2029", "PATCH", "'\\"},
	} {
		snap := hostileSnapshot(tc.name, tc.path, tc.verb, tc.param)
		b, err := sdkgen.JavaScript(snap, sdkgen.Options{Stage: "s*/", InvokeURL: "http://h/x", Now: time.Unix(0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		apigwtest.Unzip(t, b, dir)
		file := filepath.Join(dir, sdkgen.Root, "apigClient.js")
		script := `console.log(JSON.stringify(Object.keys(require(process.argv[1]).newClient({}))))`
		out, err := exec.Command(node, "-e", script, file).CombinedOutput()
		if err != nil {
			t.Fatalf("case %d: node cannot load apigClient.js: %v\n%s", i, err, out)
		}
		var names []string
		for _, m := range sdkgen.Methods(snap) {
			names = append(names, m.Name)
		}
		want, _ := json.Marshal(names)
		if strings.TrimSpace(string(out)) != string(want) {
			t.Errorf("case %d: methods %s, want %s", i, out, want)
		}
	}
}
