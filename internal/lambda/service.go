package lambda

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw/apigw/internal/iam"
	"github.com/apigw/apigw/internal/jsonhttp"
	"github.com/apigw/apigw/internal/metrics"
	"github.com/apigw/apigw/internal/requestid"
	"github.com/apigw/apigw/internal/store"
)

// Limits of the Lambda API, as AWS sets them.
const (
	// MaxRequestBytes is the largest management request: a CreateFunction
	// carrying a 50 MB zip in base64 ("Request must be smaller than 69905067
	// bytes for the CreateFunction operation"). The admin listener must
	// accept bodies this large for the lambda service.
	MaxRequestBytes = 69905067
	// MaxZipBytes is the largest deployment package uploaded directly.
	MaxZipBytes = 50 << 20
	// MaxUnzippedBytes is the largest unpacked deployment package.
	MaxUnzippedBytes = 262144000
	// MaxPayloadBytes is the largest synchronous Invoke payload (request
	// and response).
	MaxPayloadBytes = 6291456
	// MaxEventPayloadBytes is the largest asynchronous (Event) payload.
	MaxEventPayloadBytes = 1048576
	// MaxResponseBytes is the size above which AWS replaces a function's
	// response by a Function.ResponseSizeTooLarge error.
	MaxResponseBytes = 6291556
	// logTailBytes is how much of the log X-Amz-Log-Result carries.
	logTailBytes = 4096
	// InitAllowance is the time a new execution environment may take to
	// initialise on top of the function's timeout: Lambda gives the init
	// phase 10 s of its own, which the function's timeout does not count.
	InitAllowance = 10 * time.Second
)

// Store kinds of the Lambda service.
const (
	KindFunction = "lambdafunction" // key: function name; value: functionRecord JSON
	KindCode     = "lambdacode"     // key: name/sha256 (base64url); value: the zip
)

// RemoteEndpoint is a Lambda-compatible endpoint that runs some functions:
// real AWS Lambda (https://lambda.{region}.amazonaws.com) or any service
// that speaks its Invoke API.
type RemoteEndpoint struct {
	URL         string
	Credentials aws.CredentialsProvider
	// Region signs the calls; "" means the region of the function's ARN.
	Region string
}

// Service is the Lambda service: the management API (Handler) and the
// invocation of functions (Invoke, for the gateway).
type Service struct {
	Store     store.Store
	AccountID string
	Region    string
	// Runner runs the functions hosted here.
	Runner Runner
	// DataDir holds the unpacked code: {DataDir}/lambda/{name}/{sha}.
	DataDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Remote maps function ARNs to the endpoint that runs them. A key is a
	// function ARN (unqualified: all its versions; or qualified), an ARN
	// prefix ending in ":" such as "arn:aws:lambda:eu-west-1:111122223333:function:"
	// (every function of that account and region), or a prefix ending in
	// "*" ("arn:aws:lambda:eu-west-1:111122223333:function:team-*"). An
	// exact key wins, then the longest prefix. Names that are not full ARNs
	// are read as functions of this account and region.
	Remote map[string]RemoteEndpoint
	// HTTPClient calls remote endpoints; nil means a default client.
	HTTPClient *http.Client
	// Authorize decides whether the caller of r may do action (e.g.
	// "lambda:CreateFunction") on resource (the function ARN, "*" for
	// ListFunctions). It returns nil to allow, an *iam.AccessDenied (or
	// any error iam.IsAccessDenied recognizes) to deny, a *Error to answer
	// that error. Nil allows the account's root only.
	Authorize func(r *http.Request, action, resource string) error
	// CodeURLKey signs the code download URLs GetFunction returns; nil
	// means a random key (URLs then only work on this node).
	CodeURLKey []byte
	// CodeURLBase is the scheme and host of those URLs (e.g.
	// "http://127.0.0.1:8081"); "" means those of the GetFunction request.
	CodeURLBase string
	// MaxConcurrency is passed to the runner for every function: the most
	// workers one function has at once (calls beyond wait for one); 0 lets
	// the runner decide.
	MaxConcurrency int
	// Metrics counts the invocations of the functions hosted here
	// (Lambda's Invocations, Errors, Throttles, Duration and
	// ConcurrentExecutions, by function name); nil counts nothing. Remote
	// functions are counted by their own endpoint.
	Metrics *metrics.Functions
	// Log receives internal errors; nil means slog.Default().
	Log *slog.Logger

	once     sync.Once
	handler  http.Handler
	urlKey   []byte
	unpackMu sync.Mutex
	unpacks  map[string]*sync.Mutex
	seen     sync.Map // ARN → fingerprint of the configuration last run here
	policies sync.Map // policyKey → *policy.Document
	records  sync.Map // function name → *cachedRecord (invocation path)
	bg       sync.WaitGroup
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Wait blocks until the Event invocations started so far have finished.
func (s *Service) Wait() { s.bg.Wait() }

// handlerFunc is the shape of every operation: it returns the status and
// the value to encode as JSON (nil for no body, a *rawResponse for bytes),
// or an error.
type handlerFunc func(r *http.Request, body []byte) (int, any, error)

// rawResponse is a response that is not JSON-encoded (Invoke, code).
type rawResponse struct {
	header http.Header
	body   []byte
}

// Handler returns the HTTP handler of the Lambda API. It is built once.
func (s *Service) Handler() http.Handler {
	s.init()
	return s.handler
}

func (s *Service) init() {
	s.once.Do(func() {
		s.urlKey = s.CodeURLKey
		if len(s.urlKey) == 0 {
			s.urlKey = make([]byte, 32)
			rand.Read(s.urlKey)
		}
		s.unpacks = map[string]*sync.Mutex{}
		mux := http.NewServeMux()
		h := func(pattern string, f handlerFunc) { mux.Handle(pattern, s.wrap(f)) }
		const fn = "/2015-03-31/functions"
		h("POST "+fn, s.createFunction)
		h("POST "+fn+"/{$}", s.createFunction)
		h("GET "+fn, s.listFunctions)
		h("GET "+fn+"/{$}", s.listFunctions)
		h("GET "+fn+"/{name}", s.getFunction)
		h("DELETE "+fn+"/{name}", s.deleteFunction)
		h("GET "+fn+"/{name}/configuration", s.getFunctionConfiguration)
		h("PUT "+fn+"/{name}/configuration", s.updateFunctionConfiguration)
		h("PUT "+fn+"/{name}/code", s.updateFunctionCode)
		h("POST "+fn+"/{name}/versions", s.publishVersion)
		h("GET "+fn+"/{name}/versions", s.listVersions)
		h("POST "+fn+"/{name}/invocations", s.invokeAPI)
		h("POST "+fn+"/{name}/policy", s.addPermission)
		h("GET "+fn+"/{name}/policy", s.getPolicy)
		h("DELETE "+fn+"/{name}/policy/{sid}", s.removePermission)
		// Reserved concurrency came with later API versions, as AWS serves it.
		h("PUT /2017-10-31/functions/{name}/concurrency", s.putFunctionConcurrency)
		h("DELETE /2017-10-31/functions/{name}/concurrency", s.deleteFunctionConcurrency)
		h("GET /2019-09-30/functions/{name}/concurrency", s.getFunctionConcurrency)
		mux.Handle("GET "+CodePathPrefix+"{name}/{sha}", http.HandlerFunc(s.serveCode))
		unknown := s.wrap(func(r *http.Request, _ []byte) (int, any, error) {
			return 0, nil, newError(http.StatusNotFound, "UnknownOperationException", "Unknown operation: %s %s", r.Method, r.URL.Path)
		})
		mux.Handle("/", unknown)
		s.handler = requestid.Handler(jsonhttp.Routed(mux, unknown))
	})
}

func (s *Service) wrap(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An Invoke runs under the id of its API request.
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, requestid.Of(w)))
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				WriteError(w, newError(http.StatusRequestEntityTooLarge, RequestEntityTooLarge,
					"Request must be smaller than %d bytes for the %s operation", MaxRequestBytes, operationName(r)))
				return
			}
			WriteError(w, newError(http.StatusBadRequest, InvalidRequestContent, "Could not read request body"))
			return
		}
		status, v, err := f(r, body)
		if err != nil {
			WriteError(w, s.apiError(r, err))
			return
		}
		if raw, ok := v.(*rawResponse); ok {
			for k, vs := range raw.header {
				w.Header()[k] = vs
			}
			w.WriteHeader(status)
			w.Write(raw.body)
			return
		}
		jsonhttp.Write(w, status, v)
	})
}

// apiError turns an operation's error into the error to answer.
func (s *Service) apiError(r *http.Request, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if iam.IsAccessDenied(err) {
		return newError(http.StatusForbidden, AccessDenied, "%s", err.Error())
	}
	s.log().ErrorContext(r.Context(), "lambda operation failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return errInternal
}

func operationName(r *http.Request) string {
	switch {
	case strings.HasSuffix(r.URL.Path, "/invocations"):
		return "InvokeFunction"
	case strings.HasSuffix(r.URL.Path, "/code"):
		return "UpdateFunctionCode"
	}
	return "CreateFunction"
}

// authorize asks the Authorize hook whether the caller may do action on
// resource.
func (s *Service) authorize(r *http.Request, action, resource string) error {
	if s.Authorize != nil {
		return s.Authorize(r, "lambda:"+action, resource)
	}
	p := iam.PrincipalFrom(r.Context())
	if p != nil && p.Kind == iam.PrincipalRoot && p.AccountID == s.AccountID {
		return nil
	}
	caller := "anonymous"
	if p != nil {
		caller = p.ARN
	}
	return newError(http.StatusForbidden, AccessDenied,
		"User: %s is not authorized to perform: lambda:%s on resource: %s", caller, action, resource)
}

// decode reads a JSON request body into v.
func decode(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return newError(http.StatusBadRequest, "SerializationException", "Unexpected value for field %s", te.Field)
		}
		return newError(http.StatusBadRequest, InvalidRequestContent, "Could not parse request body into json: %s", err.Error())
	}
	return nil
}

// newUUID makes revision ids, UUIDs as request ids are.
func newUUID() string { return requestid.New() }

// getRecord reads a function's record.
func (s *Service) getRecord(ctx context.Context, r store.Reader, name string) (*functionRecord, error) {
	b, err := r.Get(ctx, KindFunction, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errFunctionNotFound(s.functionARN(name))
	}
	if err != nil {
		return nil, err
	}
	rec := new(functionRecord)
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("lambda: decode function %s: %w", name, err)
	}
	return rec, nil
}

func putRecord(ctx context.Context, tx store.Tx, rec *functionRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("lambda: encode function %s: %w", rec.Name, err)
	}
	return tx.Put(ctx, KindFunction, rec.Name, b)
}
