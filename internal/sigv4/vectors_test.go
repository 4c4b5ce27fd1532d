package sigv4

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vectorDir holds the SigV4 test suite (read in place, never copied).
const vectorDir = "../../../shared/testdata/sigv4"

type vectorContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	ExpirationInSeconds int       `json:"expiration_in_seconds"`
	Normalize           bool      `json:"normalize"`
	Region              string    `json:"region"`
	Service             string    `json:"service"`
	SignBody            bool      `json:"sign_body"`
	Timestamp           time.Time `json:"timestamp"`
	OmitSessionToken    bool      `json:"omit_session_token"`
}

// parseRawRequest reads an HTTP/1.1 request as written in the test suite.
// It is more lenient than http.ReadRequest: the request target may hold
// spaces and raw UTF-8, header values may be folded over several lines, and
// lines may end in LF alone. The result looks like a server-side request:
// RequestURI is the raw target and the Host header is moved to r.Host.
func parseRawRequest(t testing.TB, raw string) (*http.Request, []byte) {
	t.Helper()
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	head, body, _ := strings.Cut(raw, "\n\n")
	lines := strings.Split(head, "\n")
	line := lines[0]
	sp1, sp2 := strings.IndexByte(line, ' '), strings.LastIndexByte(line, ' ')
	if sp1 < 0 || sp2 <= sp1 {
		t.Fatalf("bad request line %q", line)
	}
	r := &http.Request{
		Method:     line[:sp1],
		RequestURI: line[sp1+1 : sp2],
		Proto:      line[sp2+1:],
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
	}
	last := ""
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' { // obs-fold: continuation of the previous value
			if last == "" {
				t.Fatalf("continuation line without header: %q", l)
			}
			vs := r.Header[last]
			vs[len(vs)-1] += " " + strings.TrimSpace(l)
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		last = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k))
		r.Header[last] = append(r.Header[last], strings.TrimSpace(v))
	}
	r.Host = r.Header.Get("Host")
	r.Header.Del("Host")
	path, query, _ := strings.Cut(r.RequestURI, "?")
	r.URL = &url.URL{Path: path, RawQuery: query}
	if cl := r.Header.Get("Content-Length"); cl != "" {
		r.ContentLength, _ = strconv.ParseInt(cl, 10, 64)
	}
	if body == "" {
		return r, nil
	}
	return r, []byte(body)
}

func readFile(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fixedLookup(c Credential) Lookup {
	return func(_ context.Context, id string) (Credential, error) {
		if id != c.AccessKeyID {
			return Credential{}, ErrUnknownKey
		}
		return c, nil
	}
}

func wantCode(t *testing.T, err error, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want *Error with code %s", err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%s), want %s", e.Code, e.Message, code)
	}
	return e
}

func TestVectors(t *testing.T) {
	entries, err := os.ReadDir(vectorDir)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("SigV4 test suite not found at %s", vectorDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ent := range entries {
		if !ent.IsDir() {
			continue
		}
		n++
		dir := filepath.Join(vectorDir, ent.Name())
		t.Run(ent.Name(), func(t *testing.T) {
			var vc vectorContext
			if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "context.json"))), &vc); err != nil {
				t.Fatal(err)
			}
			cred := Credential{
				AccessKeyID:     vc.Credentials.AccessKeyID,
				SecretAccessKey: vc.Credentials.SecretAccessKey,
				SessionToken:    vc.Credentials.Token,
				Principal:       "vector",
			}
			v := &Verifier{
				Lookup:  fixedLookup(cred),
				Now:     func() time.Time { return vc.Timestamp },
				Region:  vc.Region,
				Service: vc.Service,
				// normalize=false vectors keep "." / ".." and empty segments.
				DisablePathNormalization: !vc.Normalize,
			}
			for _, form := range []string{"header", "query"} {
				t.Run(form, func(t *testing.T) {
					raw := readFile(t, filepath.Join(dir, form+"-signed-request.txt"))
					wantCanon := strings.TrimSuffix(readFile(t, filepath.Join(dir, form+"-canonical-request.txt")), "\n")
					wantSTS := strings.TrimSuffix(readFile(t, filepath.Join(dir, form+"-string-to-sign.txt")), "\n")
					sig := strings.TrimSpace(readFile(t, filepath.Join(dir, form+"-signature.txt")))

					r, body := parseRawRequest(t, raw)
					var tr trace
					res, err := v.verify(context.Background(), r, &payload{body: body}, &tr)
					if err != nil {
						t.Fatalf("verify: %v", err)
					}
					if tr.canonical != wantCanon {
						t.Errorf("canonical request\n got: %q\nwant: %q", tr.canonical, wantCanon)
					}
					if tr.stringToSign != wantSTS {
						t.Errorf("string to sign\n got: %q\nwant: %q", tr.stringToSign, wantSTS)
					}
					if res.Presigned != (form == "query") || res.AccessKeyID != cred.AccessKeyID ||
						res.Region != vc.Region || res.Service != vc.Service || !res.Date.Equal(vc.Timestamp) ||
						res.Credential.Principal != "vector" {
						t.Errorf("unexpected result %+v", res)
					}

					// One flipped signature character.
					if !strings.Contains(raw, sig) {
						t.Fatalf("signature %s not found in the signed request", sig)
					}
					flipped := sig[:len(sig)-1] + "0"
					if sig[len(sig)-1] == '0' {
						flipped = sig[:len(sig)-1] + "1"
					}
					r2, body2 := parseRawRequest(t, strings.Replace(raw, sig, flipped, 1))
					_, err = v.Verify(context.Background(), r2, body2)
					wantCode(t, err, CodeInvalidSignature)

					// One signed header changed.
					r3, body3 := parseRawRequest(t, raw)
					changed := "host"
					for _, h := range res.SignedHeaders {
						switch h {
						case "host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256":
						default:
							changed = h
						}
					}
					if changed == "host" {
						r3.Host = "other.amazonaws.com"
					} else {
						r3.Header.Set(changed, r3.Header.Get(changed)+"1")
					}
					_, err = v.Verify(context.Background(), r3, body3)
					e := wantCode(t, err, CodeInvalidSignature)
					if !strings.HasPrefix(e.Message, msgSignatureMismatch) {
						t.Errorf("message = %q", e.Message)
					}

					// A different body.
					r4, body4 := parseRawRequest(t, raw)
					body4 = append(slices.Clip(body4), "tampered"...)
					_, err = v.Verify(context.Background(), r4, body4)
					wantCode(t, err, CodeInvalidSignature)
				})
			}
		})
	}
	if n == 0 {
		t.Skipf("no vectors in %s", vectorDir)
	}
}
