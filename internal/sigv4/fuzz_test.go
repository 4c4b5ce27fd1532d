package sigv4

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary Authorization headers, query strings and paths
// to Verify, Present and ParseScope. None may panic, every failure must be an
// *Error, and nothing but the genuine signature may verify.
func FuzzVerify(f *testing.F) {
	seed := sdkCase{method: "GET", path: "/prod/items", query: "a=b%20c&x=%2F"}.request(f, testHost)
	sdkSign(f, seed, "", creds(false), testNow)
	f.Add(seed.Header.Get("Authorization"), seed.URL.RawQuery, "/prod/items")

	pre := sdkPresign(f, sdkCase{method: "GET", path: "/prod/items", query: "a=b%20c"}.request(f, testHost), "", "", creds(true), testNow, 300)
	f.Add("", pre.URL.RawQuery, "/prod/items")

	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00", "X-Amz-Algorithm=x", "//a/../..")
	f.Add("AWS4-HMAC-SHA256", "X-Amz-Signature&X-Amz-Expires=-9&%", "/%zz/%")
	f.Add("Bearer ,,, = ==", "X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Date=20260314T150926Z&X-Amz-Expires=1", "")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260314/us-east-1/execute-api/aws4_request, SignedHeaders=;;HOST;;, Signature=zz", "", "/ሴ")

	lookup := func(_ context.Context, id string) (Credential, error) {
		if id == "" {
			return Credential{}, ErrUnknownKey
		}
		return Credential{AccessKeyID: id, SecretAccessKey: "secret-" + id}, nil
	}
	v := &Verifier{Lookup: lookup, Now: func() time.Time { return testNow }}
	genuineAuth := seed.Header.Get("Authorization")
	genuineSig := genuineAuth[strings.LastIndex(genuineAuth, "=")+1:]

	f.Fuzz(func(t *testing.T, authz, query, path string) {
		if path == "" || path[0] != '/' {
			path = "/" + path
		}
		uri := path
		if query != "" {
			uri += "?" + query
		}
		r := &http.Request{
			Method:     "GET",
			RequestURI: uri,
			URL:        &url.URL{Path: path, RawQuery: query},
			Host:       testHost,
			Header:     http.Header{"X-Amz-Date": {"20260314T150926Z"}},
		}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		res, err := v.Verify(context.Background(), r, nil)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("non-*Error failure: %v", err)
			}
		} else if res == nil {
			t.Fatal("nil result without error")
		} else if !strings.Contains(authz, genuineSig) && !strings.Contains(query, "X-Amz-Signature") {
			t.Fatalf("verified without a signature: %q %q %q", authz, query, path)
		}
		// VerifyStream decides as Verify does, whatever the body.
		sres, _, serr := v.VerifyStream(context.Background(), r, func(bool) ([]byte, string, error) {
			return nil, emptySHA256, nil
		})
		if (err == nil) != (serr == nil) || err != nil && err.Error() != serr.Error() ||
			res != nil && (sres.AccessKeyID != res.AccessKeyID || sres.Presigned != res.Presigned) {
			t.Fatalf("Verify: %v, %v; VerifyStream: %v, %v", res, err, sres, serr)
		}
		// Through a listener on port 8080 with the port on the Host, the
		// port-less form is tried too: the same rules hold.
		rp := r.WithContext(context.WithValue(context.Background(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}))
		rp.Host = testHost + ":8080"
		if pres, perr := v.Verify(rp.Context(), rp, nil); perr != nil {
			if _, ok := perr.(*Error); !ok {
				t.Fatalf("non-*Error failure: %v", perr)
			}
		} else if pres == nil {
			t.Fatal("nil result without error")
		} else if !strings.Contains(authz, genuineSig) && !strings.Contains(query, "X-Amz-Signature") {
			t.Fatalf("verified without a signature: %q %q %q", authz, query, path)
		}
		_ = Present(r)
		_, _ = ParseScope(r)
	})
}

// FuzzParseBasicTime checks that parseBasicTime accepts what time.Parse
// accepts for the shape it handles, with the same result.
func FuzzParseBasicTime(f *testing.F) {
	for _, s := range []string{"20260314T150926Z", "20240229T235959Z", "20230229T000000Z", "00000101T000000Z", "20261301T000000Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkBasicTime(t, s)
	})
}

func checkBasicTime(t *testing.T, s string) {
	t.Helper()
	got, ok := parseBasicTime(s)
	want, err := time.Parse(timeFormat, s)
	switch {
	case ok && (err != nil || got != want):
		t.Fatalf("parseBasicTime(%q) = %v; time.Parse: %v, %v", s, got, want, err)
	case !ok && err == nil && isBasicTime(s):
		t.Fatalf("parseBasicTime(%q) refused what time.Parse reads as %v", s, want)
	}
}
