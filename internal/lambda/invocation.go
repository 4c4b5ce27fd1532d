package lambda

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/metrics"
	"github.com/apigw/apigw/internal/requestid"
)

// Invocation types and log types of the Invoke API.
const (
	RequestResponse = "RequestResponse"
	Event           = "Event"
	DryRun          = "DryRun"
	LogTail         = "Tail"
	LogNone         = "None"
)

var _ Invoker = (*Service)(nil)

type requestIDKey struct{}

// requestID returns the request id wrap gave the API request, or a new one.
func requestID(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		return id
	}
	return requestid.New()
}

// Invoke runs a function for the gateway (AWS_PROXY integrations, Lambda
// authorizers) and for the Invoke API. When req.Principal is set, the
// function's resource policy must allow that principal to invoke it.
// Errors are *Error for what the Invoke API answers as an error
// (ResourceNotFoundException, AccessDeniedException...).
func (s *Service) Invoke(ctx context.Context, req *InvokeRequest) (*InvokeResult, error) {
	s.init()
	typ := req.InvocationType
	if typ == "" {
		typ = RequestResponse
	}
	if typ != RequestResponse && typ != Event && typ != DryRun {
		return nil, validation(quoted(typ), "invocationType", "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
	}
	if req.LogType != "" && req.LogType != LogNone && req.LogType != LogTail {
		return nil, validation(quoted(req.LogType), "logType", "Member must satisfy enum value set: [None, Tail]")
	}
	if ep, ok := s.remoteFor(req.FunctionName, req.Qualifier); ok {
		return s.invokeRemote(ctx, ep, req, typ)
	}
	ref, err := s.resolve(req.FunctionName, req.Qualifier)
	if err != nil {
		return nil, err
	}
	if err := checkPayload(req.Payload, typ); err != nil {
		return nil, err
	}
	clientContext := ""
	if req.ClientContext != "" {
		b, err := base64.StdEncoding.DecodeString(req.ClientContext)
		if err != nil || !json.Valid(b) {
			return nil, invalidParam("Client context must be a valid Base64-encoded JSON object.")
		}
		clientContext = string(b)
	}
	rec, v, err := s.lookupForInvoke(ctx, ref)
	if err != nil {
		return nil, err
	}
	cfg := v.Config
	if req.Principal != "" {
		ok, err := s.allowed(ref, v, req)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, newError(http.StatusForbidden, AccessDenied,
				"User: %s is not authorized to perform: lambda:InvokeFunction on resource: %s because no resource-based policy allows the lambda:InvokeFunction action",
				req.Principal, s.policyResource(ref.Name, cfg.Version))
		}
	}
	if typ == DryRun {
		return &InvokeResult{StatusCode: http.StatusNoContent}, nil
	}
	if s.Runner == nil {
		s.log().ErrorContext(ctx, "lambda invocation without a function host", "function", cfg.FunctionArn)
		return nil, errInternal
	}
	dir, err := s.ensureCode(ctx, cfg.FunctionName, cfg.CodeSha256)
	if err != nil {
		return nil, err
	}
	fn := &Function{
		Name: cfg.FunctionName, ARN: s.policyResource(cfg.FunctionName, cfg.Version), Runtime: cfg.Runtime,
		Handler: cfg.Handler, CodeDir: dir, Timeout: time.Duration(cfg.Timeout) * time.Second, MemoryMB: cfg.MemorySize,
		Version: cfg.Version, MaxConcurrency: s.MaxConcurrency, CodeSha256: cfg.CodeSha256, Revision: revision(&cfg),
		ReservedConcurrency: rec.Reserved,
	}
	if cfg.Environment != nil {
		fn.Env = cfg.Environment.Variables
	}
	// Another node may have changed the function: workers started for an
	// older configuration must not serve it.
	if old, ok := s.seen.Load(fn.ARN); !ok || old.(string) != fn.Revision {
		if old, loaded := s.seen.Swap(fn.ARN, fn.Revision); loaded && old.(string) != fn.Revision {
			s.Runner.Drop(fn.ARN)
		}
	}
	payload := req.Payload
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	id := requestID(ctx)
	if typ == Event {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			bctx := context.WithoutCancel(ctx)
			if _, err := s.run(bctx, fn, id, payload, clientContext, false); err != nil {
				s.log().ErrorContext(bctx, "asynchronous lambda invocation failed", "function", fn.ARN, "requestId", id, "err", err)
			}
		}()
		return &InvokeResult{StatusCode: http.StatusAccepted}, nil
	}
	return s.run(ctx, fn, id, payload, clientContext, req.LogType == LogTail)
}

// revision is Function.Revision: a short hash of the fingerprint.
func revision(c *FunctionConfiguration) string {
	sum := sha256.Sum256([]byte(fingerprint(c)))
	return hex.EncodeToString(sum[:8])
}

// drop stops the workers of a function on this node.
func (s *Service) drop(arn string) {
	s.seen.Delete(arn)
	if s.Runner != nil {
		s.Runner.Drop(arn)
	}
}

// run runs one invocation on the Runner and maps its result.
func (s *Service) run(ctx context.Context, fn *Function, id string, payload []byte, clientContext string, tail bool) (*InvokeResult, error) {
	start := s.now()
	fm := s.Metrics.Function(fn.Name)
	fm.Start()
	// The function's timeout runs from the moment its runtime receives the
	// event; a cold start may first take up to InitAllowance, which the
	// runner measures itself, and before that the call may wait as long for
	// a free worker. The deadline only bounds the whole.
	res, err := s.Runner.Invoke(ctx, fn, id, payload, start.Add(2*(InitAllowance+fn.Timeout)), clientContext)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			outcome := metrics.NotRun
			if e.Type == TooManyRequests {
				outcome = metrics.Throttled
			}
			fm.Finish(outcome, 0)
			return nil, e
		}
		fm.Finish(metrics.NotRun, 0)
		return nil, fmt.Errorf("lambda: invoke %s: %w", fn.ARN, err)
	}
	out := &InvokeResult{StatusCode: http.StatusOK, Payload: res.Payload, FunctionError: res.FunctionError, ExecutedVersion: fn.Version}
	if len(out.Payload) > MaxResponseBytes {
		out.FunctionError = "Unhandled"
		out.Payload = fmt.Appendf(nil, `{"errorMessage":"Response payload size exceeded maximum allowed payload size (%d bytes).","errorType":"Function.ResponseSizeTooLarge"}`, MaxResponseBytes)
	}
	outcome, d := metrics.Ran, res.Duration
	if out.FunctionError != "" {
		outcome = metrics.Failed
	}
	if d <= 0 {
		d = s.now().Sub(start)
	}
	fm.Finish(outcome, d)
	if tail {
		out.LogResult = logTail(framedLog(res.Log, id, fn, s.now().Sub(start)))
	}
	return out, nil
}

// framedLog puts the START, END and REPORT lines Lambda writes around an
// invocation's log, unless the runner wrote them.
func framedLog(log []byte, id string, fn *Function, d time.Duration) []byte {
	if bytes.Contains(log, []byte("START RequestId: "+id)) {
		return log
	}
	ms := float64(d.Microseconds()) / 1000
	var b bytes.Buffer
	fmt.Fprintf(&b, "START RequestId: %s Version: %s\n", id, fn.Version)
	b.Write(log)
	if len(log) > 0 && log[len(log)-1] != '\n' {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "END RequestId: %s\n", id)
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\t\n",
		id, ms, int64(math.Ceil(ms)), fn.MemoryMB)
	return b.Bytes()
}

// logTail is X-Amz-Log-Result: the base64 of the log's last 4 KB.
func logTail(log []byte) string {
	if len(log) > logTailBytes {
		log = log[len(log)-logTailBytes:]
	}
	return base64.StdEncoding.EncodeToString(log)
}

func checkPayload(p []byte, typ string) error {
	switch {
	case typ == Event && len(p) > MaxEventPayloadBytes:
		return newError(http.StatusRequestEntityTooLarge, RequestEntityTooLarge,
			"%d byte payload is too large for the Event invocation type (limit %d bytes)", len(p), MaxEventPayloadBytes)
	case len(p) > MaxPayloadBytes:
		return newError(http.StatusRequestEntityTooLarge, RequestEntityTooLarge,
			"Request must be smaller than %d bytes for the InvokeFunction operation", MaxPayloadBytes)
	case len(p) > 0 && !json.Valid(p):
		var v any
		err := json.Unmarshal(p, &v)
		msg := "Unexpected character"
		if err != nil {
			msg = err.Error()
		}
		return newError(http.StatusBadRequest, InvalidRequestContent,
			"Could not parse request body into json: Could not parse payload into json: %s", msg)
	}
	return nil
}

// invokeAPI is the Invoke operation:
// POST /2015-03-31/functions/{name}/invocations.
func (s *Service) invokeAPI(r *http.Request, body []byte) (int, any, error) {
	name, q := r.PathValue("name"), r.URL.Query().Get("Qualifier")
	resource := name
	if _, ok := s.remoteFor(name, q); !ok {
		ref, err := s.resolve(name, q)
		if err != nil {
			return 0, nil, err
		}
		resource = s.qualifiedARN(ref.Name, ref.Qualifier)
	} else if q != "" && !strings.HasSuffix(resource, ":"+q) {
		resource += ":" + q
	}
	if err := s.authorize(r, "InvokeFunction", resource); err != nil {
		return 0, nil, err
	}
	req := &InvokeRequest{
		FunctionName:   name,
		Qualifier:      q,
		Payload:        body,
		InvocationType: r.Header.Get("X-Amz-Invocation-Type"),
		LogType:        r.Header.Get("X-Amz-Log-Type"),
		ClientContext:  r.Header.Get("X-Amz-Client-Context"),
	}
	res, err := s.Invoke(r.Context(), req)
	if err != nil {
		return 0, nil, err
	}
	h := http.Header{}
	if res.StatusCode == http.StatusOK {
		h.Set("Content-Type", "application/json")
		if res.ExecutedVersion != "" {
			h.Set("X-Amz-Executed-Version", res.ExecutedVersion)
		}
		if res.FunctionError != "" {
			h.Set("X-Amz-Function-Error", res.FunctionError)
		}
		if res.LogResult != "" {
			h.Set("X-Amz-Log-Result", res.LogResult)
		}
		return res.StatusCode, &rawResponse{header: h, body: res.Payload}, nil
	}
	return res.StatusCode, &rawResponse{header: h}, nil
}
