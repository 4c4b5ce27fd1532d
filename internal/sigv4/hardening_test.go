package sigv4

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// presignWith presigns a GET of /prod/e with X-Amz-Expires set to expires as
// written (the SDK signs whatever the query says).
func presignWith(t *testing.T, expires string, at time.Time) *http.Request {
	t.Helper()
	r := sdkCase{method: "GET", path: "/prod/e", query: "X-Amz-Expires=" + url.QueryEscape(expires)}.request(t, testHost)
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds(false), r, UnsignedPayload, testService, testRegion, at)
	if err != nil {
		t.Fatal(err)
	}
	out := httptest.NewRequest("GET", strings.TrimPrefix(signed, "http://"+testHost), nil)
	out.Host = testHost
	return out
}

func TestPresignedExpires(t *testing.T) {
	tests := []struct {
		name    string
		expires string
		at      time.Time
		code    string
		msg     string
	}{
		{"zero", "0", testNow, CodeInvalidSignature,
			"Signature expired: 20260314T150926Z is now earlier than 20260314T150926Z (20260314T150926Z - 0 sec.)"},
		{"zero-dated-ahead", "0", testNow.Add(time.Minute), CodeInvalidSignature,
			"Signature expired: 20260314T151026Z is now earlier than 20260314T150926Z (20260314T150926Z - 0 sec.)"},
		{"zero-padded", "000", testNow, CodeInvalidSignature,
			"Signature expired: 20260314T150926Z is now earlier than 20260314T150926Z (20260314T150926Z - 0 sec.)"},
		{"negative", "-1", testNow, CodeIncompleteSignature, msgExpiresNegative},
		{"negative-zero", "-0", testNow, CodeIncompleteSignature, msgExpiresNegative},
		{"not-a-number", "ten", testNow, CodeIncompleteSignature, msgExpiresNumber},
		{"fraction", "1.5", testNow, CodeIncompleteSignature, msgExpiresNumber},
		{"empty", "", testNow, CodeIncompleteSignature, msgExpiresNumber},
		{"past-a-week", "604801", testNow, CodeIncompleteSignature, msgExpiresTooLarge},
		{"one-second", "1", testNow, "", ""},
		{"one-second-last", "1", testNow.Add(-time.Second), "", ""},
		{"one-week", "604800", testNow, "", ""},
	}
	v := testVerifier()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), presignWith(t, tc.expires, tc.at), nil)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				return
			}
			e := wantCode(t, err, tc.code)
			if e.Message != tc.msg {
				t.Errorf("message\n got: %q\nwant: %q", e.Message, tc.msg)
			}
		})
	}
}

func TestRegionScope(t *testing.T) {
	signed := func(t *testing.T, region string) *http.Request {
		r := sdkCase{method: "GET", path: "/prod/r"}.request(t, testHost)
		if err := v4.NewSigner().SignHTTP(context.Background(), creds(false), r, emptySHA256, testService, region, testNow); err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name   string
		region string
		adjust func(*Verifier)
		msg    string // "" = accepted
	}{
		{"same-region", "us-east-1", nil, ""},
		{"other-region", "eu-west-1", nil, "Credential should be scoped to a valid region, not 'eu-west-1'. "},
		{"case-matters", "US-EAST-1", nil, "Credential should be scoped to a valid region, not 'US-EAST-1'. "},
		{"also-accepted", "eu-west-1", func(v *Verifier) { v.OtherRegions = []string{"eu-west-1"} }, ""},
		{"not-in-other-regions", "ap-south-1", func(v *Verifier) { v.OtherRegions = []string{"eu-west-1"} },
			"Credential should be scoped to a valid region, not 'ap-south-1'. "},
		{"own-message", "eu-west-1", func(v *Verifier) { v.RegionMessage = "Credential should be scoped to a valid region. " },
			"Credential should be scoped to a valid region. "},
		{"no-region-set", "eu-west-1", func(v *Verifier) { v.Region = "" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := testVerifier()
			if tc.adjust != nil {
				tc.adjust(v)
			}
			_, err := v.Verify(context.Background(), signed(t, tc.region), nil)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				return
			}
			e := wantCode(t, err, CodeInvalidSignature)
			if e.Message != tc.msg || e.Status != http.StatusForbidden {
				t.Errorf("got %d %q, want 403 %q", e.Status, e.Message, tc.msg)
			}
		})
	}
}

// streamReader records how VerifyStream called it.
type streamReader struct {
	body     string
	calls    int
	verified bool
	err      error
}

func (s *streamReader) read(verified bool) ([]byte, string, error) {
	s.calls++
	s.verified = verified
	if s.err != nil {
		return nil, "", s.err
	}
	return []byte(s.body), hexSHA([]byte(s.body)), nil
}

func TestVerifyStream(t *testing.T) {
	const body = `{"name":"widget"}`
	post := func(t *testing.T, c sdkCase) *http.Request {
		c.method, c.path, c.body = "POST", "/prod/items", body
		return c.request(t, testHost)
	}
	errRead := errors.New("read failed")
	tests := []struct {
		name     string
		req      func(t *testing.T) *http.Request
		readErr  error
		calls    int  // calls of read
		verified bool // what read was told
		code     string
		msg      string
		err      error
	}{
		{"signed-body", func(t *testing.T) *http.Request {
			r := post(t, sdkCase{})
			sdkSign(t, r, body, creds(false), testNow)
			return r
		}, nil, 1, false, "", "", nil},
		{"stated-hash", func(t *testing.T) *http.Request {
			r := post(t, sdkCase{header: http.Header{"X-Amz-Content-Sha256": {hexSHA([]byte(body))}}})
			sdkSign(t, r, body, creds(false), testNow)
			return r
		}, nil, 1, true, "", "", nil},
		{"stated-hash-of-another-body", func(t *testing.T) *http.Request {
			r := post(t, sdkCase{header: http.Header{"X-Amz-Content-Sha256": {hexSHA([]byte("other"))}}})
			sdkSign(t, r, "other", creds(false), testNow)
			return r
		}, nil, 1, true, CodeInvalidSignature, msgContentSHA, nil},
		{"unsigned-payload", func(t *testing.T) *http.Request {
			r := post(t, sdkCase{header: http.Header{"X-Amz-Content-Sha256": {UnsignedPayload}}})
			if err := v4.NewSigner().SignHTTP(context.Background(), creds(false), r, UnsignedPayload, testService, testRegion, testNow); err != nil {
				t.Fatal(err)
			}
			return r
		}, nil, 1, true, "", "", nil},
		{"made-up-signature-over-body", func(t *testing.T) *http.Request {
			r := post(t, sdkCase{})
			sdkSign(t, r, body, creds(false), testNow)
			r.Header.Set("Authorization", r.Header.Get("Authorization")[:len(r.Header.Get("Authorization"))-64]+strings.Repeat("0", 64))
			return r
		}, nil, 1, false, CodeInvalidSignature, msgSignatureMismatch + "...", nil},
		{"made-up-signature-stated-hash", func(t *testing.T) *http.Request {
			r := post(t, sdkCase{header: http.Header{"X-Amz-Content-Sha256": {hexSHA([]byte(body))}}})
			sdkSign(t, r, body, creds(false), testNow)
			r.Header.Set("Authorization", r.Header.Get("Authorization")[:len(r.Header.Get("Authorization"))-64]+strings.Repeat("0", 64))
			return r
		}, nil, 0, false, CodeInvalidSignature, msgSignatureMismatch + "...", nil},
		{"unknown-key", func(t *testing.T) *http.Request {
			r := post(t, sdkCase{})
			c := creds(false)
			c.AccessKeyID = "AKIANOBODY"
			sdkSign(t, r, body, c, testNow)
			return r
		}, nil, 0, false, CodeUnrecognizedClient, msgInvalidToken, nil},
		{"wrong-region", func(t *testing.T) *http.Request {
			r := post(t, sdkCase{})
			if err := v4.NewSigner().SignHTTP(context.Background(), creds(false), r, hexSHA([]byte(body)), testService, "eu-west-1", testNow); err != nil {
				t.Fatal(err)
			}
			return r
		}, nil, 0, false, CodeInvalidSignature, "Credential should be scoped to a valid region, not 'eu-west-1'. ", nil},
		{"expired", func(t *testing.T) *http.Request {
			r := post(t, sdkCase{})
			sdkSign(t, r, body, creds(false), testNow.Add(-time.Hour))
			return r
		}, nil, 0, false, CodeInvalidSignature, "Signature expired: ...", nil},
		{"unsigned", func(t *testing.T) *http.Request { return post(t, sdkCase{}) },
			nil, 0, false, CodeMissingAuthenticationToken, msgMissingAuthToken, nil},
		{"read-error", func(t *testing.T) *http.Request {
			r := post(t, sdkCase{})
			sdkSign(t, r, body, creds(false), testNow)
			return r
		}, errRead, 1, false, "", "", errRead},
	}
	v := testVerifier()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sr := &streamReader{body: body, err: tc.readErr}
			res, got, err := v.VerifyStream(context.Background(), tc.req(t), sr.read)
			if sr.calls != tc.calls || (sr.calls > 0 && sr.verified != tc.verified) {
				t.Errorf("read called %d times (verified %v), want %d (verified %v)", sr.calls, sr.verified, tc.calls, tc.verified)
			}
			switch {
			case tc.err != nil:
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
			case tc.code == "":
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if res.AccessKeyID != testKeyID || string(got) != body {
					t.Errorf("result %+v, body %q", res, got)
				}
			default:
				e := wantCode(t, err, tc.code)
				if p, ok := strings.CutSuffix(tc.msg, "..."); ok && !strings.HasPrefix(e.Message, p) || !ok && e.Message != tc.msg {
					t.Errorf("message\n got: %q\nwant: %q", e.Message, tc.msg)
				}
			}
		})
	}
}

// TestHostWithoutPort: a signature over the Host without its port is
// accepted when the port is the listener's, and only then.
func TestHostWithoutPort(t *testing.T) {
	v := testVerifier()
	srv := newVerifyServer(t, v)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	sign := func(t *testing.T, signedHost string) *http.Request {
		r := sdkCase{method: "POST", path: "/prod/p", body: `{"a":1}`,
			header: http.Header{"Content-Type": {"application/json"}}}.request(t, u.Host)
		r.Host = signedHost
		sdkSign(t, r, `{"a":1}`, creds(false), testNow)
		r.Host = "" // the wire carries the URL's host, with its port
		return r
	}
	tests := []struct {
		name       string
		signedHost string
		ok         bool
	}{
		{"with-port", u.Host, true},
		{"without-port", u.Hostname(), true},
		{"other-port", u.Hostname() + ":" + strconv.Itoa(port+1), false},
		{"other-host", "localhost", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := send(t, sign(t, tc.signedHost))
			if got.OK != tc.ok {
				t.Fatalf("verdict %+v, want ok=%v", got, tc.ok)
			}
			if !tc.ok && (got.Code != CodeInvalidSignature || !strings.Contains(got.Message, "\nhost:"+u.Host+"\n")) {
				t.Errorf("the refusal shows the canonical request with the Host as received: %+v", got)
			}
		})
	}

	t.Run("no-listener-in-context", func(t *testing.T) {
		r := sign(t, u.Hostname())
		r.Host = u.Host
		r.Body = io.NopCloser(strings.NewReader(`{"a":1}`))
		if _, err := v.Verify(context.Background(), r, []byte(`{"a":1}`)); err == nil {
			t.Fatal("a request that did not come through a listener must not have its port stripped")
		}
	})
	t.Run("listener-in-the-context-given-to-verify", func(t *testing.T) {
		// The data plane verifies a request value of its own, with the
		// connection's context passed beside it.
		r := sign(t, u.Hostname())
		r.Host = u.Host
		ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if _, err := v.Verify(ctx, r, []byte(`{"a":1}`)); err != nil {
			t.Fatalf("verify: %v", err)
		}
	})
	t.Run("host-sent-without-port", func(t *testing.T) {
		r := sign(t, u.Hostname())
		r.Host = u.Hostname()
		if got := send(t, r); !got.OK {
			t.Fatalf("a Host sent without a port and signed as sent must verify: %+v", got)
		}
	})
}

// BenchmarkVerifyHostWithoutPort is the fallback: a Host signed without the
// listener's port verifies on the second comparison.
func BenchmarkVerifyHostWithoutPort(b *testing.B) {
	v := testVerifier()
	r := sdkCase{method: "GET", path: "/prod/api/v1/users/123", query: "expand=orders&limit=10",
		header: http.Header{"Accept": {"application/json"}}}.request(b, testHost)
	sdkSign(b, r, "", creds(false), testNow)
	r.Host = testHost + ":8080"
	r = r.WithContext(context.WithValue(context.Background(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}))
	ctx := r.Context()
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
