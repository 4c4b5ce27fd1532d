package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

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

// byteBudget counts bytes held against a fixed total. It never waits: a
// request that would wait while holding part of its body could deadlock
// with others doing the same.
type byteBudget struct {
	mu    sync.Mutex
	used  int64
	total int64
}

func (b *byteBudget) tryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.total-b.used {
		return false
	}
	b.used += n
	return true
}

func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// adminAuth verifies the signatures of admin requests, one verifier per
// service (they differ in the regions they accept), and reads their bodies
// within the budget of unverified bytes.
type adminAuth struct {
	byService map[string]*sigv4.Verifier
	fallback  *sigv4.Verifier // a service apigw does not serve; refused once verified
	budget    *byteBudget
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
		budget:   &byteBudget{total: maxUnverifiedBytes},
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

var (
	errBodyTooLarge = errors.New("request body too large")
	errBusy         = errors.New("too many unverified request bodies")
)

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
	defer func() { a.budget.release(held) }()
	limit := bodyLimit(service)
	read := func(verified bool) ([]byte, string, error) {
		charge := func(n int64) bool {
			if verified {
				return true
			}
			if !a.budget.tryAcquire(n) {
				return false
			}
			held += n
			return true
		}
		return readHashed(r.Body, r.ContentLength, limit, charge)
	}
	res, body, err := v.VerifyStream(r.Context(), r, read)
	var se *sigv4.Error
	switch {
	case err == nil:
		return res, body, nil
	case errors.As(err, &se):
		return nil, nil, &control.Error{Status: se.Status, Type: se.Code, Message: se.Message}
	case errors.Is(err, errBodyTooLarge):
		return nil, nil, &control.Error{Status: http.StatusRequestEntityTooLarge, Type: "RequestEntityTooLargeException", Message: "Request body too large"}
	case errors.Is(err, errBusy):
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

// readHashed reads body whole, hashing it as it goes. length is the
// declared Content-Length (-1 when unknown). Every byte of buffer is first
// charged: all at once when the length is known, as the buffer grows
// otherwise; a refused charge ends the read with errBusy.
func readHashed(body io.Reader, length, limit int64, charge func(int64) bool) ([]byte, string, error) {
	if length > limit {
		return nil, "", errBodyTooLarge
	}
	if body == nil || body == http.NoBody || length == 0 {
		return nil, hex.EncodeToString(emptySum[:]), nil
	}
	size := int64(32 << 10)
	if length > 0 {
		size = length
	}
	if !charge(size) {
		return nil, "", errBusy
	}
	buf := make([]byte, 0, size)
	h := sha256.New()
	for {
		if len(buf) == cap(buf) {
			if length > 0 || int64(len(buf)) > limit {
				// Past the declared length (the server refuses that
				// already) or past the limit.
				var one [1]byte
				if n, _ := io.ReadFull(body, one[:]); n == 0 {
					break
				}
				return nil, "", errBodyTooLarge
			}
			grow := min(int64(cap(buf)), limit+1-int64(cap(buf)))
			if grow <= 0 {
				return nil, "", errBodyTooLarge
			}
			if !charge(grow) {
				return nil, "", errBusy
			}
			nb := make([]byte, len(buf), int64(cap(buf))+grow)
			copy(nb, buf)
			buf = nb
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		h.Write(buf[len(buf) : len(buf)+n])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
	}
	if int64(len(buf)) > limit {
		return nil, "", errBodyTooLarge
	}
	return buf, hex.EncodeToString(h.Sum(nil)), nil
}

var emptySum = sha256.Sum256(nil)

// peekForm reads, within the budget, the start of an unsigned request's
// body, so that a Query-protocol refusal can name its service; nil when the
// budget is spent or the body is not a form.
func (a *adminAuth) peekForm(r *http.Request) []byte {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if r.Body == nil || !strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded") {
		return nil
	}
	if !a.budget.tryAcquire(maxPeekBytes) {
		return nil
	}
	defer a.budget.release(maxPeekBytes)
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxPeekBytes))
	return b
}
