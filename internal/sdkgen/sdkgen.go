// Package sdkgen generates client SDKs of a deployed stage, as GetSdk
// answers them: the JavaScript SDK of Amazon API Gateway's shape
// (apigClient.js and its lib/), rendered from the stage's deployment
// snapshot. The JavaScript files are apigw's own (js/), embedded.
package sdkgen

import (
	"archive/zip"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/apigw/apigw/internal/model"
)

//go:embed js
var files embed.FS

// Root is the folder the zip's files are in, as in AWS's zip.
const Root = "apiGateway-js-sdk"

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"js":      jsLiteral,
	"comment": comment,
}).ParseFS(files, "js/*.tmpl"))

// Options say what the generated SDK calls.
type Options struct {
	// Stage is the stage's name.
	Stage string
	// InvokeURL is the stage's URL, e.g.
	// http://127.0.0.1:8080/_aws/execute-api/abc123/prod (no trailing /).
	InvokeURL string
	// Region is the region requests are signed for.
	Region string
	// Now is the generation time (file times in the zip).
	Now time.Time
}

// Method is one method of the generated client.
type Method struct {
	Name     string // e.g. petsPetIdGet
	Verb     string // GET
	Path     string // /pets/{petId}
	Template string // /pets/{petId}, {+proxy} for a greedy {proxy+}
	AuthType string // AWS_IAM or NONE
	APIKey   bool
	// PathParams, QueryParams and HeaderParams are the names params
	// may hold; Required those that must be there.
	PathParams, QueryParams, HeaderParams, Required []string
}

// Methods lists the client's methods for the snapshot's API: one per
// method of a resource, ANY excepted (AWS's generator skips it), by path
// then verb. Names that would collide get a number (aGet, aGet2).
func Methods(snap *model.Snapshot) []Method {
	res := slices.Clone(snap.Resources)
	slices.SortFunc(res, func(a, b *model.Resource) int { return strings.Compare(a.Path, b.Path) })
	var out []Method
	seen := map[string]int{}
	for _, r := range res {
		verbs := make([]string, 0, len(r.ResourceMethods))
		for v := range r.ResourceMethods {
			if v != "ANY" {
				verbs = append(verbs, v)
			}
		}
		slices.Sort(verbs)
		for _, v := range verbs {
			m := r.ResourceMethods[v]
			name := MethodName(r.Path, v)
			seen[name]++
			if n := seen[name]; n > 1 {
				name = fmt.Sprintf("%s%d", name, n)
			}
			me := Method{
				Name: name, Verb: v, Path: r.Path, AuthType: "NONE", APIKey: m.ApiKeyRequired,
				PathParams: []string{}, QueryParams: []string{}, HeaderParams: []string{}, Required: []string{},
			}
			if m.AuthorizationType == "AWS_IAM" {
				me.AuthType = "AWS_IAM"
			}
			var tmpl strings.Builder
			for _, seg := range strings.Split(strings.Trim(r.Path, "/"), "/") {
				if seg == "" {
					continue
				}
				tmpl.WriteByte('/')
				p, ok := strings.CutPrefix(seg, "{")
				if !ok || !strings.HasSuffix(p, "}") {
					tmpl.WriteString(seg)
					continue
				}
				p = strings.TrimSuffix(p, "}")
				if g, greedy := strings.CutSuffix(p, "+"); greedy {
					tmpl.WriteString("{+" + g + "}")
					p = g
				} else {
					tmpl.WriteString("{" + p + "}")
				}
				me.PathParams = append(me.PathParams, p)
				me.Required = append(me.Required, p)
			}
			me.Template = tmpl.String()
			if me.Template == "" {
				me.Template = "/"
			}
			for _, k := range slices.Sorted(maps.Keys(m.RequestParameters)) {
				var name string
				var list *[]string
				if n, ok := strings.CutPrefix(k, "method.request.querystring."); ok {
					name, list = n, &me.QueryParams
				} else if n, ok := strings.CutPrefix(k, "method.request.header."); ok {
					name, list = n, &me.HeaderParams
				} else {
					continue // path parameters come from the path
				}
				*list = append(*list, name)
				if m.RequestParameters[k] {
					me.Required = append(me.Required, name)
				}
			}
			out = append(out, me)
		}
	}
	return out
}

// MethodName is the generated client's name of a method, by AWS's rule:
// the path's parts camel-cased ({param} gives its name; / is "root"),
// then the HTTP method: GET /pets/{petId} is petsPetIdGet, POST / is
// rootPost, GET /{a}/{b}/{op} is aBOpGet. Characters that cannot be in a
// JavaScript name split words (my-items is myItems).
func MethodName(resourcePath, httpMethod string) string {
	var words []string
	for _, seg := range strings.Split(resourcePath, "/") {
		words = append(words, splitWords(seg)...)
	}
	if len(words) == 0 {
		words = []string{"root"}
	}
	words = append(words, splitWords(strings.ToLower(httpMethod))...)
	var b strings.Builder
	for i, w := range words {
		r := []rune(w)
		if i == 0 {
			r[0] = unicode.ToLower(r[0])
		} else {
			r[0] = unicode.ToUpper(r[0])
		}
		b.WriteString(string(r))
	}
	name := b.String()
	if r := []rune(name); len(r) == 0 || unicode.IsDigit(r[0]) {
		name = "_" + name
	}
	return name
}

// splitWords cuts a path segment at every character that is not a
// letter or digit ({, }, +, -, ., _ ...).
func splitWords(seg string) []string {
	return strings.FieldsFunc(seg, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '$'
	})
}

// JavaScript returns the zip of the JavaScript SDK of the snapshot's API.
func JavaScript(snap *model.Snapshot, opt Options) ([]byte, error) {
	data := struct {
		APIName, APIID, Stage, DeploymentID, InvokeURL, Region, Generated string
		Methods                                                           []Method
	}{
		APIName: snap.Api.Name, APIID: snap.Api.ID, Stage: opt.Stage, DeploymentID: snap.DeploymentID,
		InvokeURL: strings.TrimSuffix(opt.InvokeURL, "/"), Region: opt.Region,
		Generated: opt.Now.UTC().Format(time.RFC3339), Methods: Methods(snap),
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, body []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: Root + "/" + name, Method: zip.Deflate, Modified: opt.Now})
		if err != nil {
			return err
		}
		_, err = w.Write(body)
		return err
	}
	for _, t := range []struct{ tmpl, name string }{{"apigClient.js.tmpl", "apigClient.js"}, {"README.md.tmpl", "README.md"}} {
		var out bytes.Buffer
		if err := templates.ExecuteTemplate(&out, t.tmpl, data); err != nil {
			return nil, fmt.Errorf("sdkgen: render %s: %w", t.name, err)
		}
		if err := add(t.name, out.Bytes()); err != nil {
			return nil, fmt.Errorf("sdkgen: zip %s: %w", t.name, err)
		}
	}
	err := fs.WalkDir(files, "js/lib", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		return add(path.Join("lib", strings.TrimPrefix(p, "js/lib/")), body)
	})
	if err != nil {
		return nil, fmt.Errorf("sdkgen: zip lib: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("sdkgen: zip: %w", err)
	}
	return buf.Bytes(), nil
}

// jsLiteral is v as a JavaScript literal: JSON, whose strings are valid
// JavaScript strings (json.Marshal escapes <, >, &, U+2028 and U+2029).
func jsLiteral(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// comment makes s safe inside a /* */ comment on one line.
func comment(s string) string {
	s = strings.ReplaceAll(s, "*/", "* /")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}
