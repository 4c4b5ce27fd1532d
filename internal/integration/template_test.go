package integration

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/fault"
	"github.com/apigw/apigw/internal/model"
	"github.com/apigw/apigw/internal/vtl"
)

func compileOrFail(t *testing.T, in *model.Integration) *Integration {
	t.Helper()
	if in.TimeoutInMillis == 0 {
		in.TimeoutInMillis = 29000
	}
	ig, err := Compile(in, Options{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return ig
}

func faultStatus(err error) int {
	if err == nil {
		return 0
	}
	return fault.As(err).Status
}

// The request template a request gets, by its Content-Type and the
// passthrough behavior: AWS's table (integration-passthrough-behaviors).
func TestRequestTemplateSelection(t *testing.T) {
	jsonOnly := map[string]string{"application/json": "json"}
	two := map[string]string{"application/json": "json", "application/xml": "xml"}
	for _, tc := range []struct {
		name        string
		templates   map[string]string
		passthrough string
		contentType string
		want        string // the template's text, "" for passthrough
		status      int    // 415 when refused
	}{
		{"json template, no content type, WHEN_NO_MATCH", jsonOnly, "WHEN_NO_MATCH", "", "json", 0},
		{"json template, no content type, WHEN_NO_TEMPLATES", jsonOnly, "WHEN_NO_TEMPLATES", "", "json", 0},
		{"json template, no content type, NEVER", jsonOnly, "NEVER", "", "json", 0},
		{"json template, json with charset", jsonOnly, "NEVER", "Application/JSON; charset=utf-8", "json", 0},
		{"json template, xml, WHEN_NO_MATCH passes through", jsonOnly, "WHEN_NO_MATCH", "application/xml", "", 0},
		{"json template, xml, unset is WHEN_NO_MATCH", jsonOnly, "", "application/xml", "", 0},
		{"json template, xml, WHEN_NO_TEMPLATES refuses", jsonOnly, "WHEN_NO_TEMPLATES", "application/xml", "", 415},
		{"json template, xml, NEVER refuses", jsonOnly, "NEVER", "application/xml", "", 415},
		{"two templates, xml", two, "NEVER", "application/xml", "xml", 0},
		{"two templates, html, WHEN_NO_MATCH", two, "WHEN_NO_MATCH", "text/html", "", 0},
		{"two templates, html, WHEN_NO_TEMPLATES", two, "WHEN_NO_TEMPLATES", "text/html", "", 415},
		{"no templates, WHEN_NO_MATCH", nil, "WHEN_NO_MATCH", "application/json", "", 0},
		{"no templates, WHEN_NO_TEMPLATES", nil, "WHEN_NO_TEMPLATES", "application/xml", "", 0},
		{"no templates, NEVER", nil, "NEVER", "", "", 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ig := compileOrFail(t, &model.Integration{Type: "HTTP", HTTPMethod: "POST", URI: "http://backend.test/", RequestTemplates: tc.templates, PassthroughBehavior: tc.passthrough})
			c := newCall(t, "POST", "/items", "dev", "/items", "body")
			if tc.contentType != "" {
				c.Header.Set("Content-Type", tc.contentType)
			}
			mt, err := ig.requestTemplate(c)
			if got := faultStatus(err); got != tc.status {
				t.Fatalf("status %d (%v), want %d", got, err, tc.status)
			}
			if err != nil {
				if e := fault.As(err); e.Type != fault.UnsupportedMediaType || e.Message != "Unsupported Media Type" || e.ErrorType != "UnsupportedMediaTypeException" {
					t.Errorf("error %+v", e)
				}
				return
			}
			got := ""
			if mt != nil {
				got = mt.text
			}
			if got != tc.want {
				t.Errorf("template %q, want %q", got, tc.want)
			}
		})
	}
}

// MOCK's request phase: the statusCode comes from the rendered template.
func TestMockRequestTemplate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		template string
		target   string
		body     string
		want     string
		status   int // a refused request's
	}{
		{"static", `{"statusCode": 200}`, "/items", "", "200", 0},
		{"query decides: 1", `{"statusCode": #if($input.params('x')=='1')200#{else}404#end}`, "/items?x=1", "", "200", 0},
		{"query decides: other", `{"statusCode": #if($input.params('x')=='1')200#{else}404#end}`, "/items?x=2", "", "404", 0},
		{"body decides", `{"statusCode": $input.path('$.code')}`, "/items", `{"code": 201}`, "201", 0},
		{"body not JSON", `{"statusCode": $input.path('$.code')}`, "/items", `code=201`, "", 400},
		{"no statusCode", `{"status": 200}`, "/items", "", "", 500},
		{"statusCode out of range", `{"statusCode": $input.params('x')}`, "/items?x=99", "", "", 500},
		{"template fails", `#set($s = "ab")$s.substring(5)`, "/items", "", "", 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ig := compileOrFail(t, &model.Integration{Type: "MOCK", RequestTemplates: map[string]string{"application/json": tc.template}})
			c := newCall(t, "POST", "/items", "dev", tc.target, tc.body)
			var x Exchange
			t.Cleanup(x.Close)
			err := ig.Request(c, &x)
			if got := faultStatus(err); got != tc.status {
				t.Fatalf("status %d (%v), want %d", got, err, tc.status)
			}
			if err == nil && x.mockStatus != tc.want {
				t.Errorf("statusCode %q, want %q", x.mockStatus, tc.want)
			}
		})
	}
}

// A MOCK whose request passes through reads its statusCode from the body.
func TestMockPassthrough(t *testing.T) {
	ig := compileOrFail(t, &model.Integration{Type: "MOCK", RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}})
	c := newCall(t, "POST", "/items", "dev", "/items", `{"statusCode": 202}`)
	c.Header.Set("Content-Type", "text/plain")
	var x Exchange
	if err := ig.Request(c, &x); err != nil || x.mockStatus != "202" {
		t.Errorf("got %q, %v; want 202", x.mockStatus, err)
	}
}

// HTTP's request phase: the rendered template is the backend's body, and
// $context.requestOverride wins over the parameter mappings.
func TestHTTPRequestTemplate(t *testing.T) {
	ig := compileOrFail(t, &model.Integration{
		Type: "HTTP", HTTPMethod: "POST", URI: "http://backend.test/items/{id}",
		RequestParameters: map[string]string{
			"integration.request.path.id":         "method.request.path.id",
			"integration.request.header.X-Mapped": "'mapped'",
			"integration.request.querystring.q":   "'mapped'",
		},
		RequestTemplates: map[string]string{"application/json": `#set($b = $input.path('$'))
#set($context.requestOverride.header.X-Mapped = "over")
#set($context.requestOverride.header.X-Name = $b.name)
#set($context.requestOverride.querystring.q = "over q")
#set($context.requestOverride.path.id = "p/$input.params('id')")
{"fullName": "$b.name $b.surname", "tags": $input.json('$.tags'), "stage": "$context.stage"}`},
	})
	c := newCall(t, "POST", "/items/{id}", "dev", "/items/7", `{"name": "Ana", "surname": "Lima", "tags": ["a", "b"]}`)
	var x Exchange
	t.Cleanup(x.Close)
	if err := ig.Request(c, &x); err != nil {
		t.Fatal(err)
	}
	if want := `{"fullName": "Ana Lima", "tags": ["a","b"], "stage": "dev"}`; !x.templated || string(x.reqBody) != want {
		t.Errorf("body %q, want %q", x.reqBody, want)
	}
	if want := "http://backend.test/items/p/7?q=over+q"; x.url.String() != want {
		t.Errorf("url %s, want %s", x.url, want)
	}
	for name, want := range map[string]string{"X-Mapped": "over", "X-Name": "Ana", "Content-Type": "application/json"} {
		if got := x.h1.add.get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if !x.useH1 {
		t.Error("a small rendered body should go through the h1 client")
	}
}

// A request that uses no template sends the client's body.
func TestHTTPRequestPassthrough(t *testing.T) {
	ig := compileOrFail(t, &model.Integration{Type: "HTTP", HTTPMethod: "POST", URI: "http://backend.test/x",
		RequestTemplates: map[string]string{"application/xml": "<x/>"}})
	c := newCall(t, "POST", "/items", "dev", "/items", `{"a":1}`)
	var x Exchange
	t.Cleanup(x.Close)
	if err := ig.Request(c, &x); err != nil || x.templated {
		t.Errorf("templated %v, err %v: want the body passed through", x.templated, err)
	}
}

// HTTP's integration response: the template reads the backend's body, the
// Accept picks it, $context.responseOverride sets the status and headers.
func TestHTTPResponseTemplate(t *testing.T) {
	ig := compileOrFail(t, &model.Integration{
		Type: "HTTP", HTTPMethod: "GET", URI: "http://backend.test/x",
		IntegrationResponses: map[string]*model.IntegrationResponse{
			"200": {StatusCode: "200",
				ResponseParameters: map[string]string{"method.response.header.X-Mapped": "'mapped'"},
				ResponseTemplates: map[string]string{
					"application/json": `#set($r = $input.path('$'))
#if($r.items.size() == 0)#set($context.responseOverride.status = 404)#end
#set($context.responseOverride.header.X-Mapped = "over")
{"count": $r.items.size(), "first": $input.json('$.items[0]')}`,
					"application/xml": `<count>$input.path('$.items').size()</count>`,
					"text/plain":      `#set($context.responseOverride.status = "nope")plain`,
				}},
		},
	})
	for _, tc := range []struct {
		name, accept, backend string
		status                int
		body, contentType     string
		mapped                string
		fails                 int
	}{
		{"json", "", `{"items": [{"id": 1}, {"id": 2}]}`, 200, `{"count": 2, "first": {"id":1}}`, "application/json", "over", 0},
		{"status override", "application/json", `{"items": []}`, 404, `{"count": 0, "first": }`, "application/json", "over", 0},
		{"accept picks xml", "text/html, application/xml;q=0.9", `{"items": [1]}`, 200, `<count>1</count>`, "application/xml", "mapped", 0},
		{"status not a number is ignored", "text/plain", `x`, 200, `plain`, "text/plain", "mapped", 0},
		{"backend body not JSON", "", `<html>`, 0, "", "", "", 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCall(t, "GET", "/items", "dev", "/items", "")
			if tc.accept != "" {
				c.Header.Set("Accept", tc.accept)
			}
			x := Exchange{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: strings.NewReader(tc.backend)}
			out := Response{Header: http.Header{}}
			err := ig.Respond(c, &x, &out)
			if got := faultStatus(err); got != tc.fails {
				t.Fatalf("error status %d (%v), want %d", got, err, tc.fails)
			}
			if err != nil {
				var ve *vtl.Error
				if !errors.As(err, &ve) || !strings.Contains(ve.Error(), "integration response 200 template application/json") {
					t.Errorf("error %v does not name the template", err)
				}
				return
			}
			if out.Status != tc.status || out.text != tc.body {
				t.Errorf("got %d %q, want %d %q", out.Status, out.text, tc.status, tc.body)
			}
			if got := out.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := out.Header.Get("X-Mapped"); got != tc.mapped {
				t.Errorf("X-Mapped %q, want %q", got, tc.mapped)
			}
		})
	}
}

// A template that does not parse makes the integration a configuration
// error, named after the template.
func TestTemplateParseError(t *testing.T) {
	_, err := Compile(&model.Integration{Type: "HTTP", HTTPMethod: "GET", URI: "http://backend.test/", TimeoutInMillis: 29000,
		RequestTemplates: map[string]string{"application/json": "#if($a"}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "integration request template application/json") {
		t.Errorf("err = %v", err)
	}
}

// A request body that is not JSON, read by $input.path, is the client's
// 400, with AWS's words.
func TestRequestBodyNotJSON(t *testing.T) {
	ig := compileOrFail(t, &model.Integration{Type: "HTTP", HTTPMethod: "POST", URI: "http://backend.test/",
		RequestTemplates: map[string]string{"application/json": `$input.json('$.a')`}})
	c := newCall(t, "POST", "/items", "dev", "/items", `{"a": `)
	var x Exchange
	t.Cleanup(x.Close)
	err := ig.Request(c, &x)
	e := fault.As(err)
	if e.Status != 400 || e.Type != fault.BadRequestBody || !strings.HasPrefix(e.Message, "Could not parse request body into json: ") {
		t.Errorf("got %+v", e)
	}
}

func TestMockStatus(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"statusCode": 200}`, "200"},
		{"{\n  \"statusCode\" :\t\"404\"\n}", "404"},
		{`{"other": 1, "statusCode":503, "x": 2}`, "503"},
		{`{"statusCode": 20.5}`, ""},
		{`{"statusCode": "200}`, ""},
		{`{"statusCode": 99}`, ""},
		{`{"statusCode": 600}`, ""},
		{`{"statusCode": true}`, ""},
		{`{"status": 200}`, ""},
		{`{"statusCode"`, ""},
		{``, ""},
	} {
		got, err := mockStatus(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("mockStatus(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzMockStatus: the statusCode scanner reads rendered templates and
// client bodies; it never panics and only accepts 100..599.
func FuzzMockStatus(f *testing.F) {
	for _, s := range []string{`{"statusCode": 200}`, `{"statusCode":"404"}`, `{"statusCode": 2`, `"statusCode"`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := mockStatus(s)
		if err != nil {
			return
		}
		if len(got) != 3 || got < "100" || got > "599" {
			t.Fatalf("mockStatus(%q) = %q", s, got)
		}
	})
}
