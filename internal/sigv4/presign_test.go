package sigv4

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPresign: what `apigw presign` prints verifies, for any body, until it
// expires; a changed URL does not.
func TestPresign(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		temp   bool
		method string
		url    string
		body   string
	}{
		{"host-based GET", false, "GET", "http://" + testHost + "/dev/sample?q=a%20b", ""},
		{"path-style POST with a body", false, "POST", "http://127.0.0.1:8080/_aws/execute-api/abc123/dev/items/%C3%BC", `{"a":1}`},
		{"session credentials", true, "GET", "https://" + testHost + "/dev/dir/a%20b", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			signed, err := Presign(ctx, creds(c.temp), testRegion, c.method, c.url, 10*time.Minute, testNow)
			if err != nil {
				t.Fatal(err)
			}
			verify := func(u string, at time.Time) error {
				r, err := http.NewRequest(c.method, u, strings.NewReader(c.body))
				if err != nil {
					t.Fatal(err)
				}
				r.RequestURI = r.URL.RequestURI()
				v := testVerifier()
				v.Now = func() time.Time { return at }
				_, err = v.Verify(ctx, r, bytes.Clone([]byte(c.body)))
				return err
			}
			if err := verify(signed, testNow.Add(time.Minute)); err != nil {
				t.Fatalf("presigned URL does not verify: %v\n%s", err, signed)
			}
			if err := verify(signed, testNow.Add(11*time.Minute)); err == nil {
				t.Fatal("presigned URL still verifies after it expired")
			}
			if err := verify(strings.Replace(signed, "/dev/", "/prod/", 1), testNow.Add(time.Minute)); err == nil {
				t.Fatal("a presigned URL with another path verifies")
			}
		})
	}
	if _, err := Presign(ctx, creds(false), testRegion, "GET", "http://x/", 8*24*time.Hour, testNow); err == nil {
		t.Error("an expiry over 7 days was accepted")
	}
	if _, err := Presign(ctx, creds(false), testRegion, "GET", "/relative", time.Minute, testNow); err == nil {
		t.Error("a relative URL was accepted")
	}
}
