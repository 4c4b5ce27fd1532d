package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/apigw/apigw/internal/apigwtest"
)

// rawGet sends "GET target" exactly as written (no client normalises or
// escapes it) and returns the answer.
func rawGet(t *testing.T, dataURL, target, host string, header http.Header) dpAnswer {
	t.Helper()
	addr := strings.TrimPrefix(dataURL, "http://")
	c, err := net.DialTimeout("tcp", addr, dpWait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(dpWait))
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", target, host)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&body); err != nil {
		t.Fatalf("GET %s: read body: %v", target, err)
	}
	return dpAnswer{resp.StatusCode, resp.Header, body.String()}
}

// backendView is the path a backend that decodes its request path (as most
// web frameworks and file servers do, some twice) and resolves dot segments
// in it would serve.
func backendView(requestURI string) string {
	p, _, _ := strings.Cut(requestURI, "?")
	for range 3 {
		d, err := url.PathUnescape(p)
		if err != nil || d == p {
			break
		}
		p = d
	}
	return path.Clean(strings.ReplaceAll(p, `\`, "/"))
}

// Routing, authorization and the backend agree on a request's path: with
// /admin behind AWS_IAM and /{proxy+} open, no spelling of a dot segment
// reaches the admin page unsigned, and whatever the open proxy forwards stays
// under its base path for any backend that decodes and resolves the path.
func TestDataPlaneDotSegments(t *testing.T) {
	in := apigwtest.Start(t)
	be := newDPBackend(t, "be", nil)
	a := newDPAPI(t, in, "dots")
	if _, err := in.Client.PutMethod(t.Context(), &apigateway.PutMethodInput{
		RestApiId: aws.String(a.id), ResourceId: aws.String(a.resource("/admin")), HttpMethod: aws.String("GET"),
		AuthorizationType: aws.String("AWS_IAM"),
	}); err != nil {
		t.Fatal(err)
	}
	a.integration("/admin", "GET", &apigateway.PutIntegrationInput{
		Type: "HTTP_PROXY", IntegrationHttpMethod: aws.String("GET"), Uri: aws.String(be.URL + "/admin"),
	})
	a.proxy("/{proxy+}", "GET", be.URL+"/api/v1/{proxy}", map[string]string{"integration.request.path.proxy": "method.request.path.proxy"}, "method.request.path.proxy")
	a.proxy("/files", "GET", be.URL+"/api/v1/files/{name}", map[string]string{"integration.request.path.name": "method.request.querystring.name"}, "method.request.querystring.name")
	a.deploy("prod", nil)
	host := a.id + ".execute-api.localhost"

	const refused = 400
	tests := []struct {
		target string
		status int    // 400 refused, 403 the protected /admin (unsigned), 200 the proxy
		proxy  string // for 200: the path the proxy forwards, as the backend reads it
	}{
		{"/prod/%2e%2e/%2e%2e/admin", refused, ""},
		{"/prod/%2E%2E/%2E%2E/admin", refused, ""},
		{"/prod/%2e/admin", refused, ""},
		{"/prod/%2E/admin", refused, ""},
		{"/prod/.%2e/.%2e/admin", refused, ""},
		{"/prod/%2e./%2e./admin", refused, ""},
		{"/prod/x/..%2f..%2f..%2fadmin", refused, ""},
		{"/prod/x%2F..%2F..%2F..%2Fadmin", refused, ""},
		{`/prod/x/..\..\..\admin`, refused, ""},
		{"/prod/x/..%5c..%5c..%5cadmin", refused, ""},
		{"/prod/%252e%252e/%252e%252e/admin", refused, ""},
		{"/prod/%25252e%25252e/admin", refused, ""},
		{"/prod/..;/..;/admin", refused, ""},
		{"/_aws/execute-api/" + a.id + "/prod/%2e%2e/admin", refused, ""},
		// Literal dot segments are resolved before routing, as CloudFront
		// and browsers do: they land on the protected method.
		{"/prod/./admin", 403, ""},
		{"/prod/x/../admin", 403, ""},
		{"/prod/x/y/../../admin", 403, ""},
		{"/prod/x/./../admin/", 403, ""},
		{"/_aws/execute-api/" + a.id + "/prod/x/../admin", 403, ""},
		// What stays inside the proxy's base path is forwarded.
		{"/prod/./x", 200, "/api/v1/x"},
		{"/prod/docs/../x", 200, "/api/v1/x"},
		{"/prod/a%2Fb", 200, "/api/v1/a/b"},
		{"/prod/a.b/..c/c..", 200, "/api/v1/a.b/..c/c.."},
		{"/prod/%2e%2e%2e", 200, "/api/v1/..."},
		{"/prod/x?q=..%2f..", 200, "/api/v1/x"},
		// A value mapped into the backend's path from elsewhere may not
		// step out of the integration URI either.
		{"/prod/files?name=..", refused, ""},
		{"/prod/files?name=..%2F..%2Fadmin", refused, ""},
		{"/prod/files?name=%252e%252e", refused, ""},
		{"/prod/files?name=a..b", 200, "/api/v1/files/a..b"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			before := be.count()
			h := host
			if strings.HasPrefix(tt.target, "/_aws/") {
				h = "127.0.0.1"
			}
			got := rawGet(t, in.DataURL, tt.target, h, nil)
			if got.status != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", got.status, tt.status, got.body)
			}
			switch tt.status {
			case refused:
				dpWantError(t, got, 400, "BadRequestException", "Invalid request path: a segment decodes to '.' or '..'")
			case 403:
				dpWantError(t, got, 403, "MissingAuthenticationTokenException", "Missing Authentication Token")
			}
			if tt.status != 200 {
				if n := be.count(); n != before {
					t.Fatalf("backend received %d requests, want none", n-before)
				}
				return
			}
			rec := be.last(t)
			if v := backendView(rec.RequestURI); v != tt.proxy {
				t.Fatalf("backend got %q, which it reads as %q; want %q", rec.RequestURI, v, tt.proxy)
			}
		})
	}

	// A signed request through a literal dot segment is checked against the
	// path that is routed, which is the canonical URI SigV4 asks clients to
	// sign (dot segments removed, as botocore does).
	t.Run("signed", func(t *testing.T) {
		req := iaReq(t, http.MethodGet, in.DataURL+"/prod/admin", host, "")
		creds := aws.Credentials{AccessKeyID: apigwtest.AccessKeyID, SecretAccessKey: apigwtest.SecretAccessKey}
		iaSign(t, req, "", creds, time.Now())
		req.Header.Del("Host")
		got := rawGet(t, in.DataURL, "/prod/x/../admin", host, req.Header)
		if got.status != 200 {
			t.Fatalf("status = %d, want 200 (body %s)", got.status, got.body)
		}
		if rec := be.last(t); rec.RequestURI != "/admin" {
			t.Fatalf("backend got %q, want /admin", rec.RequestURI)
		}
	})
}

// An AWS_IAM method reads a body for its payload hash only once the checks
// that need no body passed, and holds bodies of callers not verified yet
// within the gateway's budget: past it, 429 before the body is read.
func TestDataPlaneUnverifiedBodiesBounded(t *testing.T) {
	in := apigwtest.Start(t)
	in.Server.Gateway.UnverifiedBodyBytes = 4 << 10
	apiID, backend := iaIAMAPI(t, in)
	host := iaHost(apiID)
	root := aws.Credentials{AccessKeyID: apigwtest.AccessKeyID, SecretAccessKey: apigwtest.SecretAccessKey}
	post := func(body string, c aws.Credentials, tamper bool) iaAnswer {
		t.Helper()
		req := iaSign(t, iaReq(t, http.MethodPost, in.DataURL+"/"+iaStage+"/sample", host, body), body, c, time.Now())
		if tamper {
			a := req.Header.Get("Authorization")
			req.Header.Set("Authorization", a[:len(a)-4]+"0000")
		}
		return iaDo(t, req)
	}
	small, big := strings.Repeat("s", 2<<10), strings.Repeat("b", 8<<10)

	if got := post(small, root, true); got.status != 403 || got.header.Get("x-amzn-ErrorType") != "InvalidSignatureException" {
		t.Errorf("bad signature, small body: %d %s %s", got.status, got.header.Get("x-amzn-ErrorType"), got.body)
	}
	got := post(big, root, true)
	iaWantError(t, got, 429, "TooManyRequestsException", "message", "Too Many Requests")
	// A made-up key is refused before any body is read, whatever its size.
	got = post(big, aws.Credentials{AccessKeyID: "AKIAMADEUPMADEUPMADE", SecretAccessKey: "x"}, false)
	if got.status != 403 || got.header.Get("x-amzn-ErrorType") != "UnrecognizedClientException" {
		t.Errorf("made-up key, big body: %d %s %s", got.status, got.header.Get("x-amzn-ErrorType"), got.body)
	}
	if n := backend.count(); n != 0 {
		t.Fatalf("the backend received %d requests", n)
	}
	// A good signature over a body that fits passes, and the body is intact.
	if got := post(small, root, false); got.status != 200 {
		t.Fatalf("signed small body: %d %s", got.status, got.body)
	}
	if rec := backend.last(t); rec.Body != small {
		t.Fatalf("backend got %d bytes, want %d", len(rec.Body), len(small))
	}
}
