package lambda

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// remoteFor finds the endpoint that runs a function, if any. A name that is
// not a full ARN is read as a function of this account and region.
func (s *Service) remoteFor(name, qualifier string) (RemoteEndpoint, bool) {
	if len(s.Remote) == 0 {
		return RemoteEndpoint{}, false
	}
	arn := name
	if !strings.HasPrefix(name, "arn:") {
		ref, ok := parseFunctionName(name)
		if !ok {
			return RemoteEndpoint{}, false
		}
		acct := ref.Account
		if acct == "" {
			acct = s.AccountID
		}
		arn = "arn:aws:lambda:" + s.Region + ":" + acct + ":function:" + ref.Name
		if ref.Qualifier != "" {
			arn += ":" + ref.Qualifier
		}
	}
	if qualifier != "" && strings.Count(arn, ":") == 6 {
		arn += ":" + qualifier
	}
	unqualified := arn
	if parts := strings.Split(arn, ":"); len(parts) == 8 {
		unqualified = strings.Join(parts[:7], ":")
	}
	if ep, ok := s.Remote[arn]; ok {
		return ep, true
	}
	if ep, ok := s.Remote[unqualified]; ok {
		return ep, true
	}
	best, found := "", false
	for k := range s.Remote {
		p, ok := remotePrefix(k)
		if ok && strings.HasPrefix(arn, p) && len(k) > len(best) {
			best, found = k, true
		}
	}
	if !found {
		return RemoteEndpoint{}, false
	}
	return s.Remote[best], true
}

// remotePrefix reads a Remote key as a prefix: a key ending in ":" (all the
// functions of an account and region) or in "*" (a name prefix). Other
// keys name one function.
func remotePrefix(k string) (string, bool) {
	if p, ok := strings.CutSuffix(k, "*"); ok {
		return p, true
	}
	return k, strings.HasSuffix(k, ":")
}

// escapePath percent-encodes a path segment as the AWS SDKs do: everything
// but unreserved characters.
func escapePath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// invokeRemote calls the Invoke API of a remote endpoint, signed with
// SigV4 for the lambda service. The remote endpoint applies its own
// resource policies and sees the configured credentials as the caller.
func (s *Service) invokeRemote(ctx context.Context, ep RemoteEndpoint, req *InvokeRequest, typ string) (*InvokeResult, error) {
	if err := checkPayload(req.Payload, typ); err != nil {
		return nil, err
	}
	region := ep.Region
	if region == "" {
		if p := strings.Split(req.FunctionName, ":"); len(p) >= 4 && p[0] == "arn" {
			region = p[3]
		} else {
			region = s.Region
		}
	}
	u := strings.TrimRight(ep.URL, "/") + "/2015-03-31/functions/" + escapePath(req.FunctionName) + "/invocations"
	if req.Qualifier != "" {
		u += "?Qualifier=" + url.QueryEscape(req.Qualifier)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(req.Payload))
	if err != nil {
		return nil, fmt.Errorf("lambda: remote endpoint %s: %w", ep.URL, err)
	}
	hreq.Header.Set("Content-Type", "application/octet-stream")
	hreq.Header.Set("X-Amz-Invocation-Type", typ)
	if req.LogType != "" {
		hreq.Header.Set("X-Amz-Log-Type", req.LogType)
	}
	if req.ClientContext != "" {
		hreq.Header.Set("X-Amz-Client-Context", req.ClientContext)
	}
	if ep.Credentials == nil {
		return nil, fmt.Errorf("lambda: remote endpoint %s has no credentials", ep.URL)
	}
	creds, err := ep.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("lambda: credentials for %s: %w", ep.URL, err)
	}
	sum := sha256.Sum256(req.Payload)
	if err := v4.NewSigner().SignHTTP(ctx, creds, hreq, hex.EncodeToString(sum[:]), "lambda", region, time.Now()); err != nil {
		return nil, fmt.Errorf("lambda: sign call to %s: %w", ep.URL, err)
	}
	client := s.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("lambda: call %s: %w", ep.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1<<20))
	if err != nil {
		return nil, fmt.Errorf("lambda: read answer of %s: %w", ep.URL, err)
	}
	if resp.StatusCode >= 300 {
		return nil, remoteError(resp, body)
	}
	return &InvokeResult{
		StatusCode:      resp.StatusCode,
		Payload:         body,
		FunctionError:   resp.Header.Get("X-Amz-Function-Error"),
		LogResult:       resp.Header.Get("X-Amz-Log-Result"),
		ExecutedVersion: resp.Header.Get("X-Amz-Executed-Version"),
	}, nil
}

// remoteError reads a REST-JSON error answer.
func remoteError(resp *http.Response, body []byte) *Error {
	var e struct {
		Type         string `json:"__type"`
		Code         string `json:"code"`
		Message      string `json:"message"`
		MessageUpper string `json:"Message"`
	}
	json.Unmarshal(body, &e)
	typ := resp.Header.Get("X-Amzn-ErrorType")
	if typ == "" {
		typ = e.Type
	}
	if typ == "" {
		typ = e.Code
	}
	// "ResourceNotFoundException:http://internal.amazon.com/..." and
	// "aws.protocoltests#Error" forms.
	if i := strings.IndexByte(typ, ':'); i >= 0 {
		typ = typ[:i]
	}
	if i := strings.LastIndexByte(typ, '#'); i >= 0 {
		typ = typ[i+1:]
	}
	if typ == "" {
		typ = ServiceError
	}
	msg := e.Message
	if msg == "" {
		msg = e.MessageUpper
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
	}
	return &Error{Status: resp.StatusCode, Type: typ, Message: msg}
}
