package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKeyID   = "AKIDEXAMPLE"
	testSecret  = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testTmpID   = "ASIATEMPEXAMPLE"
	testTmpKey  = "tmpSecretKeyEXAMPLE/abc+def"
	testToken   = "FwoGZXIvYXdzEXAMPLETOKEN//////////+abc/def=="
	testRegion  = "us-east-1"
	testService = "execute-api"
	testHost    = "abc123.execute-api.us-east-1.amazonaws.com"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func testLookup(_ context.Context, id string) (Credential, error) {
	switch id {
	case testKeyID:
		return Credential{AccessKeyID: testKeyID, SecretAccessKey: testSecret, Principal: "user/alice"}, nil
	case testTmpID:
		return Credential{AccessKeyID: testTmpID, SecretAccessKey: testTmpKey, SessionToken: testToken, Principal: "role/app"}, nil
	case "ASIAEXPIRED":
		return Credential{}, fmt.Errorf("session ended: %w", ErrExpiredToken)
	case "AKIABROKEN":
		return Credential{}, errBackend
	}
	return Credential{}, ErrUnknownKey
}

var errBackend = errors.New("backend down")

func testVerifier() *Verifier {
	return &Verifier{
		Lookup:  testLookup,
		Now:     func() time.Time { return testNow },
		Service: testService,
		Region:  testRegion,
	}
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func creds(temp bool) aws.Credentials {
	if temp {
		return aws.Credentials{AccessKeyID: testTmpID, SecretAccessKey: testTmpKey, SessionToken: testToken}
	}
	return aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
}

type sdkCase struct {
	name    string
	method  string
	path    string // decoded path (url.URL.Path)
	rawPath string // optional url.URL.RawPath
	query   string // url.URL.RawQuery
	body    string
	header  http.Header
	temp    bool
	wire    bool // may also be sent over a real connection
}

func (c sdkCase) request(t testing.TB, host string) *http.Request {
	t.Helper()
	u := &url.URL{Scheme: "http", Host: host, Path: c.path, RawPath: c.rawPath, RawQuery: c.query}
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	r, err := http.NewRequest(c.method, u.String(), body)
	if err != nil {
		t.Fatal(err)
	}
	// url.String may normalise; keep exactly what the case says.
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery = c.path, c.rawPath, c.query
	for k, vs := range c.header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return r
}

var sdkCases = []sdkCase{
	{name: "get-root", method: "GET", path: "/", wire: true},
	{name: "get-stage", method: "GET", path: "/prod", wire: true},
	{name: "query-reserved", method: "GET", path: "/prod/items", query: "a=b%20c&x=%2F&y=%C3%BC", wire: true},
	{name: "query-plus-and-raw-utf8", method: "GET", path: "/prod/items", query: "a=b+c&x=%2F&y=ü"},
	{name: "query-dup-empty-flag", method: "GET", path: "/prod/q", query: "b=2&a=2&a=1&a=10&empty=&flag&z=%7E~", wire: true},
	{name: "query-utf8-keys", method: "GET", path: "/prod/q", query: "%C3%BC=1&A=2&%E1%88%B4=3", wire: true},
	{name: "path-space-utf8", method: "GET", path: "/prod/a b/ü/ሴ", wire: true},
	{name: "path-reserved", method: "GET", path: "/prod/!$&'()*+,;=:@/x", wire: true},
	{name: "path-encoded-slash", method: "GET", path: "/prod/a/b", rawPath: "/prod/a%2Fb", wire: true},
	{name: "proxy-deep", method: "GET", path: "/prod/api/v1/users/123/orders/456/items/789/detail.json", query: "expand=all", wire: true},
	{name: "proxy-trailing-slash", method: "DELETE", path: "/prod/api/v1/users/123/", wire: true},
	{name: "post-json", method: "POST", path: "/prod/items", body: `{"name":"widget","tags":["a","b"]}`,
		header: http.Header{"Content-Type": {"application/json"}}, wire: true},
	{name: "put-form", method: "PUT", path: "/prod/form", body: "a=1&b=hello+world",
		header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}, wire: true},
	{name: "post-binary", method: "POST", path: "/prod/bin", body: "\x00\x01\xff\xfe binary", wire: true},
	{name: "headers-multi-spaces", method: "GET", path: "/prod/h",
		header: http.Header{"X-Custom": {"  one   two  ", "three"}, "X-Quoted": {`"a   b   c"`}}, wire: true},
	{name: "session-token", method: "GET", path: "/prod/secure", query: "k=v", temp: true, wire: true},
	{name: "session-token-post", method: "PATCH", path: "/prod/secure", body: `{"x":1}`, temp: true, wire: true},
}

// sdkSign signs r in the header form with the SDK signer.
func sdkSign(t testing.TB, r *http.Request, body string, c aws.Credentials, when time.Time) {
	t.Helper()
	err := v4.NewSigner().SignHTTP(context.Background(), c, r, hexSHA([]byte(body)), testService, testRegion, when)
	if err != nil {
		t.Fatal(err)
	}
}

// sdkPresign presigns r with the SDK signer and returns the request to send.
func sdkPresign(t testing.TB, r *http.Request, body, payloadHash string, c aws.Credentials, when time.Time, expires int) *http.Request {
	t.Helper()
	if r.URL.RawQuery != "" {
		r.URL.RawQuery += "&"
	}
	r.URL.RawQuery += "X-Amz-Expires=" + strconv.Itoa(expires)
	if payloadHash == "" {
		payloadHash = hexSHA([]byte(body))
	}
	signed, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), c, r, payloadHash, testService, testRegion, when)
	if err != nil {
		t.Fatal(err)
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	out, err := http.NewRequest(r.Method, signed, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		if k == "Host" {
			continue
		}
		out.Header[k] = vs
	}
	out.Host = r.Host
	return out
}

// server verifies every request it receives and answers with the outcome.
type verdict struct {
	OK      bool
	Code    string
	Message string
	KeyID   string
}

func newVerifyServer(t testing.TB, v *Verifier) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var out verdict
		res, err := v.Verify(r.Context(), r, body)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				out.Code, out.Message = e.Code, e.Message
			} else {
				out.Code = err.Error()
			}
		} else {
			out.OK, out.KeyID = true, res.AccessKeyID
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func send(t testing.TB, r *http.Request) verdict {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out verdict
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSDKRoundTrip(t *testing.T) {
	v := testVerifier()
	srv := newVerifyServer(t, v)
	wireHost := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()

	for _, c := range sdkCases {
		t.Run(c.name, func(t *testing.T) {
			t.Run("header", func(t *testing.T) {
				r := c.request(t, testHost)
				sdkSign(t, r, c.body, creds(c.temp), testNow.Add(-90*time.Second))
				res, err := v.Verify(ctx, r, []byte(c.body))
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if res.Presigned || res.Service != testService || res.Region != testRegion ||
					res.Credential.AccessKeyID != creds(c.temp).AccessKeyID {
					t.Errorf("result %+v", res)
				}
				if c.wire {
					r := c.request(t, wireHost)
					sdkSign(t, r, c.body, creds(c.temp), testNow)
					if got := send(t, r); !got.OK {
						t.Errorf("over the wire: %s: %s", got.Code, got.Message)
					}
				}
			})
			t.Run("presigned", func(t *testing.T) {
				r := sdkPresign(t, c.request(t, testHost), c.body, "", creds(c.temp), testNow.Add(-30*time.Minute), 3600)
				res, err := v.Verify(ctx, r, []byte(c.body))
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if !res.Presigned {
					t.Errorf("Presigned = false")
				}
				if c.wire {
					r := sdkPresign(t, c.request(t, wireHost), c.body, "", creds(c.temp), testNow, 60)
					if got := send(t, r); !got.OK {
						t.Errorf("over the wire: %s: %s", got.Code, got.Message)
					}
				}
			})
			t.Run("presigned-unsigned-payload", func(t *testing.T) {
				r := sdkPresign(t, c.request(t, testHost), c.body, UnsignedPayload, creds(c.temp), testNow, 60)
				if _, err := v.Verify(ctx, r, []byte(c.body+"anything")); err != nil {
					t.Fatalf("verify: %v", err)
				}
			})
			t.Run("tampered", func(t *testing.T) {
				for _, tc := range tamperings {
					t.Run(tc.name, func(t *testing.T) {
						for _, presign := range []bool{false, true} {
							r := c.request(t, testHost)
							if presign {
								r = sdkPresign(t, r, c.body, "", creds(c.temp), testNow, 300)
							} else {
								sdkSign(t, r, c.body, creds(c.temp), testNow)
							}
							body := []byte(c.body)
							if !tc.apply(r, &body) {
								return // nothing to tamper with in this case
							}
							_, err := v.Verify(ctx, r, body)
							e := wantCode(t, err, CodeInvalidSignature)
							if !strings.HasPrefix(e.Message, "The request signature we calculated does not match") &&
								e.Message != msgContentSHA {
								t.Errorf("message %q", e.Message)
							}
						}
					})
				}
			})
		})
	}
}

var tamperings = []struct {
	name  string
	apply func(r *http.Request, body *[]byte) bool
}{
	{"method", func(r *http.Request, _ *[]byte) bool { r.Method = "OPTIONS"; return true }},
	{"path", func(r *http.Request, _ *[]byte) bool { r.URL.Path += "x"; r.URL.RawPath = ""; return true }},
	{"path-case", func(r *http.Request, _ *[]byte) bool {
		if strings.ToUpper(r.URL.Path) == r.URL.Path {
			return false
		}
		r.URL.Path, r.URL.RawPath = strings.ToUpper(r.URL.Path), ""
		return true
	}},
	{"query-added", func(r *http.Request, _ *[]byte) bool { r.URL.RawQuery += "&extra=1"; return true }},
	{"query-value", func(r *http.Request, _ *[]byte) bool {
		parts := strings.Split(r.URL.RawQuery, "&")
		for i, p := range parts {
			if p != "" && !strings.HasPrefix(p, "X-Amz-") {
				parts[i] = p + "9"
				r.URL.RawQuery = strings.Join(parts, "&")
				return true
			}
		}
		return false
	}},
	{"host", func(r *http.Request, _ *[]byte) bool { r.Host = "evil.example.com"; return true }},
	{"signed-header", func(r *http.Request, _ *[]byte) bool {
		for _, h := range []string{"X-Custom", "Content-Type"} {
			if r.Header.Get(h) != "" {
				r.Header.Set(h, r.Header.Get(h)+"x")
				return true
			}
		}
		return false
	}},
	{"body", func(r *http.Request, body *[]byte) bool {
		*body = append([]byte("x"), *body...)
		r.ContentLength = int64(len(*body))
		return true
	}},
}

func TestSDKTemporaryCredentials(t *testing.T) {
	v := testVerifier()
	ctx := context.Background()
	newReq := func() *http.Request {
		return sdkCase{method: "GET", path: "/prod/x"}.request(t, testHost)
	}

	t.Run("token-changed", func(t *testing.T) {
		r := newReq()
		sdkSign(t, r, "", creds(true), testNow)
		r.Header.Set(headerToken, testToken+"x")
		e := wantCode(t, expectErr(v.Verify(ctx, r, nil)), CodeUnrecognizedClient)
		if e.Message != "The security token included in the request is invalid." || e.Status != 403 {
			t.Errorf("%+v", e)
		}
	})
	t.Run("token-missing", func(t *testing.T) {
		r := newReq()
		sdkSign(t, r, "", aws.Credentials{AccessKeyID: testTmpID, SecretAccessKey: testTmpKey}, testNow)
		wantCode(t, expectErr(v.Verify(ctx, r, nil)), CodeUnrecognizedClient)
	})
	t.Run("token-with-long-term-key", func(t *testing.T) {
		r := newReq()
		sdkSign(t, r, "", aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: "bogus"}, testNow)
		wantCode(t, expectErr(v.Verify(ctx, r, nil)), CodeUnrecognizedClient)
	})
	t.Run("presigned-token-changed", func(t *testing.T) {
		r := sdkPresign(t, newReq(), "", "", creds(true), testNow, 60)
		r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "X-Amz-Security-Token=", "X-Amz-Security-Token=x", 1)
		wantCode(t, expectErr(v.Verify(ctx, r, nil)), CodeUnrecognizedClient)
	})
	t.Run("unknown-key", func(t *testing.T) {
		r := newReq()
		sdkSign(t, r, "", aws.Credentials{AccessKeyID: "AKIANOBODY", SecretAccessKey: "x"}, testNow)
		e := wantCode(t, expectErr(v.Verify(ctx, r, nil)), CodeUnrecognizedClient)
		if e.Message != "The security token included in the request is invalid." {
			t.Errorf("%q", e.Message)
		}
	})
	t.Run("expired-token", func(t *testing.T) {
		r := newReq()
		sdkSign(t, r, "", aws.Credentials{AccessKeyID: "ASIAEXPIRED", SecretAccessKey: "x", SessionToken: "t"}, testNow)
		e := wantCode(t, expectErr(v.Verify(ctx, r, nil)), CodeExpiredToken)
		if e.Message != "The security token included in the request is expired" {
			t.Errorf("%q", e.Message)
		}
	})
	t.Run("lookup-failure", func(t *testing.T) {
		r := newReq()
		sdkSign(t, r, "", aws.Credentials{AccessKeyID: "AKIABROKEN", SecretAccessKey: "x"}, testNow)
		if _, err := v.Verify(ctx, r, nil); !errors.Is(err, errBackend) {
			t.Errorf("err = %v, want the lookup's error", err)
		}
	})
	t.Run("wrong-secret", func(t *testing.T) {
		r := newReq()
		sdkSign(t, r, "", aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: "wrong"}, testNow)
		e := wantCode(t, expectErr(v.Verify(ctx, r, nil)), CodeInvalidSignature)
		if !strings.Contains(e.Message, "\n\nThe Canonical String for this request should have been\n'GET\n/prod/x\n") ||
			!strings.Contains(e.Message, "\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20260314T150926Z\n20260314/us-east-1/execute-api/aws4_request\n") {
			t.Errorf("message %q", e.Message)
		}
	})
}

func expectErr(_ *Result, err error) error { return err }

func TestSDKTimeWindow(t *testing.T) {
	v := testVerifier()
	ctx := context.Background()
	newReq := func() *http.Request { return sdkCase{method: "GET", path: "/prod/t"}.request(t, testHost) }

	tests := []struct {
		name    string
		signAt  time.Time
		presign int // X-Amz-Expires; 0 = header form
		want    string
	}{
		{"header-at-edge-past", testNow.Add(-5 * time.Minute), 0, ""},
		{"header-at-edge-future", testNow.Add(5 * time.Minute), 0, ""},
		{"header-expired", testNow.Add(-5*time.Minute - time.Second), 0,
			"Signature expired: 20260314T150425Z is now earlier than 20260314T150426Z (20260314T150926Z - 5 min.)"},
		{"header-not-yet-current", testNow.Add(10 * time.Minute), 0,
			"Signature not yet current: 20260314T151926Z is still later than 20260314T151426Z (20260314T150926Z + 5 min.)"},
		{"presigned-valid-6-days-old", testNow.Add(-6 * 24 * time.Hour), 604800, ""},
		{"presigned-expired", testNow.Add(-2 * time.Hour), 3600,
			"Signature expired: 20260314T130926Z is now earlier than 20260314T140926Z (20260314T150926Z - 3600 sec.)"},
		{"presigned-last-second", testNow.Add(-time.Hour), 3600, ""},
		{"presigned-not-yet-current", testNow.Add(6 * time.Minute), 3600,
			"Signature not yet current: 20260314T151526Z is still later than 20260314T151426Z (20260314T150926Z + 5 min.)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newReq()
			if tc.presign > 0 {
				r = sdkPresign(t, r, "", "", creds(false), tc.signAt, tc.presign)
			} else {
				sdkSign(t, r, "", creds(false), tc.signAt)
			}
			_, err := v.Verify(ctx, r, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				return
			}
			e := wantCode(t, err, CodeInvalidSignature)
			if e.Message != tc.want || e.Status != 403 {
				t.Errorf("message\n got: %q\nwant: %q", e.Message, tc.want)
			}
		})
	}

	t.Run("custom-skew", func(t *testing.T) {
		v := testVerifier()
		v.Skew = 15 * time.Minute
		r := newReq()
		sdkSign(t, r, "", creds(false), testNow.Add(-20*time.Minute))
		e := wantCode(t, expectErr(v.Verify(ctx, r, nil)), CodeInvalidSignature)
		if !strings.HasSuffix(e.Message, "(20260314T150926Z - 15 min.)") {
			t.Errorf("%q", e.Message)
		}
	})
}

func TestSDKScope(t *testing.T) {
	ctx := context.Background()
	r := sdkCase{method: "GET", path: "/prod/s"}.request(t, testHost)
	if err := v4.NewSigner().SignHTTP(ctx, creds(false), r, hexSHA(nil), "apigateway", "eu-west-1", testNow); err != nil {
		t.Fatal(err)
	}
	e := wantCode(t, expectErr(testVerifier().Verify(ctx, r, nil)), CodeInvalidSignature)
	want := "Credential should be scoped to a valid region, not 'eu-west-1'. Credential should be scoped to correct service: 'execute-api'. "
	if e.Message != want {
		t.Errorf("message\n got: %q\nwant: %q", e.Message, want)
	}
	// Without restrictions the same request verifies, and ParseScope routes it.
	v := testVerifier()
	v.Region, v.Service = "", ""
	res, err := v.Verify(ctx, r, nil)
	if err != nil || res.Service != "apigateway" || res.Region != "eu-west-1" {
		t.Fatalf("res=%+v err=%v", res, err)
	}
	sc, err := ParseScope(r)
	if err != nil || sc != (Scope{AccessKeyID: testKeyID, Date: "20260314", Region: "eu-west-1", Service: "apigateway"}) {
		t.Errorf("scope %+v err %v", sc, err)
	}
	p := sdkPresign(t, sdkCase{method: "GET", path: "/"}.request(t, testHost), "", "", creds(false), testNow, 60)
	sc, err = ParseScope(p)
	if err != nil || sc != (Scope{AccessKeyID: testKeyID, Date: "20260314", Region: testRegion, Service: testService, Presigned: true}) {
		t.Errorf("scope %+v err %v", sc, err)
	}
}

// TestConcurrentVerify exercises the key cache from many goroutines (run with -race).
func TestConcurrentVerify(t *testing.T) {
	v := testVerifier()
	var reqs []*http.Request
	for i := 0; i < 8; i++ {
		r := sdkCase{method: "GET", path: "/prod/c/" + strconv.Itoa(i)}.request(t, testHost)
		sdkSign(t, r, "", creds(i%2 == 0), testNow.Add(-time.Duration(i)*time.Second))
		reqs = append(reqs, r)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := v.Verify(context.Background(), reqs[(g+i)%len(reqs)], nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkVerifyHeader(b *testing.B) {
	v := testVerifier()
	r := sdkCase{method: "GET", path: "/prod/api/v1/users/123", query: "expand=orders&limit=10",
		header: http.Header{"Accept": {"application/json"}}}.request(b, testHost)
	sdkSign(b, r, "", creds(false), testNow)
	ctx := context.Background()
	if _, err := v.Verify(ctx, r, nil); err != nil { // warms the key cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPresigned(b *testing.B) {
	v := testVerifier()
	r := sdkPresign(b, sdkCase{method: "GET", path: "/prod/api/v1/users/123", query: "expand=orders"}.request(b, testHost),
		"", "", creds(true), testNow, 300)
	ctx := context.Background()
	if _, err := v.Verify(ctx, r, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, nil); err != nil {
			b.Fatal(err)
		}
	}
}
