package integration

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/model"
)

// The integration request's conversions, by AWS's table: binaryMediaTypes
// decide what is binary, contentHandling converts.
func TestRequestContentHandling(t *testing.T) {
	for _, tc := range []struct {
		name, handling, contentType, body string
		templates                         map[string]string
		want                              string // the backend's body; "" with passthrough
		passthrough                       bool
		status                            int
	}{
		{"binary to text", "CONVERT_TO_TEXT", "application/octet-stream", "hi\x00", nil, "aGkA", false, 0},
		{"binary to text, then the template", "CONVERT_TO_TEXT", "application/octet-stream", "hi", map[string]string{"application/octet-stream": `{"data": "$input.body"}`}, `{"data": "aGk="}`, false, 0},
		{"binary passes through, template aside", "", "application/octet-stream", "hi", map[string]string{"application/octet-stream": `x`}, "", true, 0},
		{"binary with CONVERT_TO_BINARY passes through", "CONVERT_TO_BINARY", "application/octet-stream", "hi", nil, "", true, 0},
		{"text to binary", "CONVERT_TO_BINARY", "text/plain", "aGk=", nil, "hi", false, 0},
		{"text, template, then to binary", "CONVERT_TO_BINARY", "application/json", `{"b": "aGk="}`, map[string]string{"application/json": `$input.path('$.b')`}, "hi", false, 0},
		{"text to binary, not base64", "CONVERT_TO_BINARY", "text/plain", "h!", nil, "", false, 500},
		{"text, CONVERT_TO_TEXT passes through", "CONVERT_TO_TEXT", "text/plain", "hi", nil, "", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ig, err := Compile(&model.Integration{Type: "HTTP", HTTPMethod: "POST", URI: "http://backend.test/", TimeoutInMillis: 29000,
				ContentHandling: tc.handling, RequestTemplates: tc.templates}, Options{BinaryMediaTypes: []string{"application/octet-stream", "image/*"}})
			if err != nil {
				t.Fatal(err)
			}
			c := newCall(t, "POST", "/items", "dev", "/items", tc.body)
			c.Header.Set("Content-Type", tc.contentType)
			var x Exchange
			t.Cleanup(x.Close)
			err = ig.Request(c, &x)
			if got := faultStatus(err); got != tc.status {
				t.Fatalf("status %d (%v), want %d", got, err, tc.status)
			}
			if err != nil {
				return
			}
			if x.templated == tc.passthrough || string(x.reqBody) != tc.want {
				t.Errorf("templated %v, body %q; want passthrough %v, body %q", x.templated, x.reqBody, tc.passthrough, tc.want)
			}
		})
	}
}

// The integration response's conversions: the backend's Content-Type and
// the client's first Accept type against binaryMediaTypes.
func TestResponseContentHandling(t *testing.T) {
	for _, tc := range []struct {
		name, handling, backendType, accept, backend string
		templates                                    map[string]string
		want                                         string
		streamed                                     bool // the backend's body passes as it is
	}{
		{"binary to a text client is base64", "", "image/png", "application/json", "\x89PNG", nil, "iVBORw==", false},
		{"binary to a binary client passes", "", "image/png", "image/png, */*", "\x89PNG", nil, "\x89PNG", true},
		{"binary, CONVERT_TO_TEXT, template reads base64", "CONVERT_TO_TEXT", "image/png", "image/png", "\x89PNG", map[string]string{"application/json": `{"img": "$input.body"}`}, `{"img": "iVBORw=="}`, false},
		{"binary, CONVERT_TO_BINARY, template skipped", "CONVERT_TO_BINARY", "image/png", "application/json", "\x89PNG", map[string]string{"application/json": `x`}, "\x89PNG", true},
		{"text to binary", "CONVERT_TO_BINARY", "text/plain", "application/json", "aGk=", nil, "hi", false},
		{"text to a binary client is decoded", "", "text/plain", "image/png", "aGk=", nil, "hi", false},
		{"text to a text client passes", "", "text/plain", "text/plain", "plain", nil, "plain", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ig, err := Compile(&model.Integration{Type: "HTTP", HTTPMethod: "GET", URI: "http://backend.test/", TimeoutInMillis: 29000,
				IntegrationResponses: map[string]*model.IntegrationResponse{"200": {StatusCode: "200", ContentHandling: tc.handling, ResponseTemplates: tc.templates}}},
				Options{BinaryMediaTypes: []string{"image/png"}})
			if err != nil {
				t.Fatal(err)
			}
			c := newCall(t, "GET", "/items", "dev", "/items", "")
			c.Header.Set("Accept", tc.accept)
			x := Exchange{status: 200, header: http.Header{"Content-Type": {tc.backendType}}, body: strings.NewReader(tc.backend)}
			out := Response{Header: http.Header{}}
			if err := ig.Respond(c, &x, &out); err != nil {
				t.Fatal(err)
			}
			got := out.text
			if out.Body != nil {
				b, _ := io.ReadAll(out.Body)
				got = string(b)
			}
			if got != tc.want || (out.Body != nil) != tc.streamed {
				t.Errorf("body %q (streamed %v), want %q (streamed %v)", got, out.Body != nil, tc.want, tc.streamed)
			}
		})
	}
}
