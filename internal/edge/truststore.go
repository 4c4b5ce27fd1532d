package edge

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// MaxTruststoreBytes bounds a truststore read from any source.
const MaxTruststoreBytes = 4 << 20

// TruststoreTimeout bounds the reading of an https:// or s3:// truststore.
const TruststoreTimeout = 10 * time.Second

// TruststoreError is a truststore that cannot be read or used; its text
// is what the caller of CreateDomainName or UpdateDomainName is told.
type TruststoreError struct{ Message string }

func (e *TruststoreError) Error() string { return e.Message }

func truststoreErr(format string, args ...any) error {
	return &TruststoreError{Message: fmt.Sprintf(format, args...)}
}

// TruststoreFetcher reads a truststore named by URI: file:///path,
// https://host/path, or s3://bucket/key (optionally at an object version).
type TruststoreFetcher struct {
	// S3Endpoint is the S3-compatible endpoint s3:// truststores are read
	// from (path-style: {S3Endpoint}/{bucket}/{key}); "" means AWS's S3 in
	// Region.
	S3Endpoint string
	Region     string
	// Credentials sign S3 requests (SigV4); nil reads anonymously.
	Credentials aws.CredentialsProvider
	// Client makes the https:// and s3:// requests; nil means one with
	// TruststoreTimeout.
	Client *http.Client
}

// Fetch reads the truststore at uri; version is an S3 object version, ""
// for the current one.
func (f *TruststoreFetcher) Fetch(ctx context.Context, uri, version string) ([]byte, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Opaque != "" {
		return nil, truststoreErr("Invalid truststore URI: %s", uri)
	}
	if version != "" && u.Scheme != "s3" {
		return nil, truststoreErr("A truststore version can only be given for an s3:// truststore URI")
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" || !strings.HasPrefix(u.Path, "/") {
			return nil, truststoreErr("Invalid truststore URI: %s (a file:// URI names an absolute path, file:///path/to/truststore.pem)", uri)
		}
		fh, err := os.Open(u.Path)
		if err != nil {
			return nil, truststoreErr("Unable to read the truststore at %s: %v", uri, errors.Unwrap(err))
		}
		defer fh.Close()
		return readBounded(fh, uri)
	case "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, truststoreErr("Invalid truststore URI: %s", uri)
		}
		return f.get(req, uri)
	case "s3":
		bucket, key := u.Host, strings.TrimPrefix(u.Path, "/")
		if bucket == "" || key == "" {
			return nil, truststoreErr("Invalid truststore URI: %s (expected s3://bucket-name/key-name)", uri)
		}
		return f.getS3(ctx, uri, bucket, key, version)
	}
	return nil, truststoreErr("Invalid truststore URI: %s (apigw reads s3://bucket-name/key-name, https:// and file:// truststores)", uri)
}

func (f *TruststoreFetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return &http.Client{Timeout: TruststoreTimeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != via[0].URL.Scheme || len(via) >= 5 {
			return errors.New("redirected to " + req.URL.Redacted())
		}
		return nil
	}}
}

func (f *TruststoreFetcher) get(req *http.Request, uri string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(req.Context(), TruststoreTimeout)
	defer cancel()
	resp, err := f.client().Do(req.WithContext(ctx))
	if err != nil {
		return nil, truststoreErr("Unable to read the truststore at %s: %v", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		reason := fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		if code := s3ErrorCode(resp.Body); code != "" {
			reason += " (" + code + ")"
		}
		return nil, truststoreErr("Unable to read the truststore at %s: %s", uri, reason)
	}
	return readBounded(resp.Body, uri)
}

// s3ErrorCode is the Code of an S3 XML error body, or "".
func s3ErrorCode(r io.Reader) string {
	var e struct {
		Code string `xml:"Code"`
	}
	if xml.NewDecoder(io.LimitReader(r, 64<<10)).Decode(&e) != nil {
		return ""
	}
	return e.Code
}

// emptySHA256 is the payload hash of a request without a body.
var emptySHA256 = func() string { s := sha256.Sum256(nil); return hex.EncodeToString(s[:]) }()

func (f *TruststoreFetcher) getS3(ctx context.Context, uri, bucket, key, version string) ([]byte, error) {
	region := f.Region
	if region == "" {
		region = "us-east-1"
	}
	var target string
	escKey := (&url.URL{Path: "/" + key}).EscapedPath()
	switch {
	case f.S3Endpoint != "":
		target = strings.TrimSuffix(f.S3Endpoint, "/") + "/" + url.PathEscape(bucket) + escKey
	case strings.Contains(bucket, "."):
		// Dotted bucket names do not match S3's wildcard certificate.
		target = "https://s3." + region + ".amazonaws.com/" + bucket + escKey
	default:
		target = "https://" + bucket + ".s3." + region + ".amazonaws.com" + escKey
	}
	if version != "" {
		target += "?versionId=" + url.QueryEscape(version)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, truststoreErr("Invalid truststore URI: %s", uri)
	}
	if f.Credentials != nil {
		creds, err := f.Credentials.Retrieve(ctx)
		if err != nil {
			return nil, truststoreErr("Unable to read the truststore at %s: no credentials to sign the S3 request: %v", uri, err)
		}
		req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, emptySHA256, "s3", region, time.Now()); err != nil {
			return nil, truststoreErr("Unable to read the truststore at %s: %v", uri, err)
		}
	}
	return f.get(req, uri)
}

func readBounded(r io.Reader, uri string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxTruststoreBytes+1))
	if err != nil {
		return nil, truststoreErr("Unable to read the truststore at %s: %v", uri, err)
	}
	if len(b) > MaxTruststoreBytes {
		return nil, truststoreErr("The truststore at %s is larger than %d bytes", uri, MaxTruststoreBytes)
	}
	return b, nil
}

// Truststore is the set of certificates a mutual-TLS domain trusts for its
// callers' certificates. Every certificate in it is a trust anchor.
type Truststore struct {
	Certificates []*x509.Certificate
	pool         *x509.CertPool
}

// ParseTruststore reads a PEM bundle of certificates. Certificates that
// cannot be used (expired, not yet valid, weak keys or signatures, not
// parseable) give warnings, as AWS's truststoreWarnings; the truststore
// is refused when no certificate in it can be used at all.
func ParseTruststore(b []byte, now time.Time) (*Truststore, []string, error) {
	ts := &Truststore{pool: x509.NewCertPool()}
	var warnings []string
	n := 0
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		n++
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("Certificate %d in the truststore could not be parsed: %v", n, err))
			continue
		}
		if w := certificateWarning(c, now); w != "" {
			// Left out: callers it would have admitted are refused.
			warnings = append(warnings, fmt.Sprintf("Certificate %d in the truststore (subject %q, serial %s) %s", n, c.Subject.String(), SerialHex(c), w))
			continue
		}
		ts.Certificates = append(ts.Certificates, c)
		ts.pool.AddCert(c)
	}
	switch {
	case n == 0:
		return nil, nil, truststoreErr("Invalid truststore: it holds no PEM-encoded certificate")
	case len(ts.Certificates) == 0:
		return nil, warnings, truststoreErr("Invalid truststore: it holds no valid certificate (%s)", strings.Join(warnings, "; "))
	}
	return ts, warnings, nil
}

// certificateWarning says what makes c unfit for a truststore, or "".
// AWS takes SHA-256 or stronger signatures, RSA keys of 2048 bits or more,
// and ECDSA P-256 or P-384 keys.
func certificateWarning(c *x509.Certificate, now time.Time) string {
	switch {
	case now.After(c.NotAfter):
		return "has expired (" + c.NotAfter.UTC().Format(time.RFC3339) + ")"
	case now.Before(c.NotBefore):
		return "is not valid yet (" + c.NotBefore.UTC().Format(time.RFC3339) + ")"
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Sprintf("has a weak key (RSA %d bits; at least 2048 are required)", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if n := k.Curve.Params().Name; n != "P-256" && n != "P-384" {
			return "has an unsupported key (ECDSA " + n + "; P-256 or P-384 are supported)"
		}
	case ed25519.PublicKey:
		return "has an unsupported key (Ed25519)"
	}
	switch c.SignatureAlgorithm {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.DSAWithSHA256, x509.ECDSAWithSHA1:
		return "has a weak signature algorithm (" + c.SignatureAlgorithm.String() + "; SHA-256 or stronger is required)"
	}
	return ""
}

// SerialHex is a certificate's serial number as OpenSSL prints it.
func SerialHex(c *x509.Certificate) string {
	b := c.SerialNumber.Bytes()
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = hex.EncodeToString([]byte{x})
	}
	return strings.Join(parts, ":")
}

// VerifyClient checks a caller's certificate chain (leaf first, as the
// client sent it) against the truststore.
func (ts *Truststore) VerifyClient(chain []*x509.Certificate, now time.Time) error {
	if len(chain) == 0 {
		return errors.New("edge: mutual TLS: the client sent no certificate")
	}
	leaf := chain[0]
	if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignatureFrom(leaf) == nil {
		return errors.New("edge: mutual TLS: self-signed client certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: ts.pool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return fmt.Errorf("edge: mutual TLS: %w", err)
	}
	return nil
}
