package server

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/apigw/apigw/internal/control"
	"github.com/apigw/apigw/internal/lambda"
	"github.com/apigw/apigw/internal/sigv4"
)

// maxUnverifiedBytes bounds the request bodies the admin listener holds for
// callers whose signature is not verified yet, all requests together. It
// leaves room for one request of the largest size (a Lambda zip upload,
// lambda.MaxRequestBytes) beside small ones; past it, an unverified request
// that needs its body read is refused with the service's throttling error
// (which the AWS SDKs retry) before any of its body is read.
const maxUnverifiedBytes = 80 << 20

// maxPeekBytes is how much of an unsigned request's body is read to tell
// IAM from STS (for the shape of the refusal).
const maxPeekBytes = 64 << 10

// globalRegion is the signing region of AWS's global endpoints (IAM, the
// global STS endpoint).
const globalRegion = "us-east-1"

// adminAuth verifies the signatures of admin requests, one verifier per
// service (they differ in the regions they accept), and reads their bodies
// within the budget of unverified bytes.
type adminAuth struct {
	byService map[string]*sigv4.Verifier
	fallback  *sigv4.Verifier // a service apigw does not serve; refused once verified
	budget    *sigv4.Budget
	log       *slog.Logger
}

func newAdminAuth(lookup sigv4.Lookup, region string, log *slog.Logger) *adminAuth {
	regional := &sigv4.Verifier{Lookup: lookup, Region: region}
	var also []string
	if region != globalRegion {
		// A client configured for apigw's region signs IAM and STS calls to
		// an endpoint override with that region.
		also = []string{region}
	}
	return &adminAuth{
		byService: map[string]*sigv4.Verifier{
			"apigateway": regional,
			"lambda":     regional,
			"acm":        regional,
			"iam":        {Lookup: lookup, Region: globalRegion, OtherRegions: also},
			"sts": {Lookup: lookup, Region: globalRegion, OtherRegions: also,
				RegionMessage: "Credential should be scoped to a valid region. "},
		},
		fallback: regional,
		budget:   &sigv4.Budget{Total: maxUnverifiedBytes},
		log:      log,
	}
}

// bodyLimit is the largest request body of an admin service.
func bodyLimit(service string) int64 {
	if service == "lambda" {
		return lambda.MaxRequestBytes // zip uploads
	}
	return control.MaxBodyBytes
}

// authenticate verifies r's signature for service (from its unverified
// scope) and returns the result with the body read. Everything that can be
// checked without the body is checked before any of it is read, and the
// bytes read for a caller not yet verified count against the budget until
// the signature is checked. A failure comes back as the error to answer.
func (a *adminAuth) authenticate(r *http.Request, service string) (*sigv4.Result, []byte, *control.Error) {
	v := a.byService[service]
	if v == nil {
		v = a.fallback
	}
	var held int64
	defer func() { a.budget.Release(held) }()
	res, body, err := v.VerifyStream(r.Context(), r, a.budget.Reader(r.Body, r.ContentLength, bodyLimit(service), &held))
	var se *sigv4.Error
	switch {
	case err == nil:
		return res, body, nil
	case errors.As(err, &se):
		return nil, nil, &control.Error{Status: se.Status, Type: se.Code, Message: se.Message}
	case errors.Is(err, sigv4.ErrBodyTooLarge):
		return nil, nil, &control.Error{Status: http.StatusRequestEntityTooLarge, Type: "RequestEntityTooLargeException", Message: "Request body too large"}
	case errors.Is(err, sigv4.ErrBusy):
		return nil, nil, throttled(service)
	case r.Context().Err() != nil || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, nil, &control.Error{Status: http.StatusBadRequest, Type: "BadRequestException", Message: "The request body ended before its length"}
	}
	a.log.Error("signature verification failed", "err", err)
	return nil, nil, &control.Error{Status: http.StatusInternalServerError, Type: "InternalFailure", Message: "Internal server error"}
}

// throttled is the service's answer to a request it cannot take now.
func throttled(service string) *control.Error {
	switch service {
	case "iam", "sts":
		return &control.Error{Status: http.StatusBadRequest, Type: "Throttling", Message: "Rate exceeded"}
	case "lambda":
		return &control.Error{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException", Message: "Rate Exceeded."}
	}
	return &control.Error{Status: http.StatusTooManyRequests, Type: "TooManyRequestsException", Message: "Too Many Requests"}
}

// peekForm reads, within the budget, the start of an unsigned request's
// body, so that a Query-protocol refusal can name its service; nil when the
// budget is spent or the body is not a form.
func (a *adminAuth) peekForm(r *http.Request) []byte {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if r.Body == nil || !strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded") {
		return nil
	}
	if !a.budget.TryAcquire(maxPeekBytes) {
		return nil
	}
	defer a.budget.Release(maxPeekBytes)
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxPeekBytes))
	return b
}
