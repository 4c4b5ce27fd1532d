package sigv4

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Presign returns rawURL presigned for service "execute-api" with creds,
// valid for expires (1 s to 7 days), as `apigw presign` prints it. Signing
// uses the AWS SDK's signer, so apigw verifies what real clients produce.
func Presign(ctx context.Context, creds aws.Credentials, region, method, rawURL string, expires time.Duration, now time.Time) (string, error) {
	if expires < time.Second || expires > maxExpires*time.Second {
		return "", fmt.Errorf("presign: expiry %s out of range (1s to 7 days)", expires)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("presign: %q is not an absolute http(s) URL", rawURL)
	}
	q := u.Query()
	q.Set(paramExpires, strconv.FormatInt(int64(expires/time.Second), 10))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("presign: %w", err)
	}
	// UNSIGNED-PAYLOAD: the URL does not pin a body, so it serves any method.
	signed, _, err := v4.NewSigner().PresignHTTP(ctx, creds, req, UnsignedPayload, "execute-api", region, now)
	if err != nil {
		return "", fmt.Errorf("presign: %w", err)
	}
	return signed, nil
}
