// Package fault holds the data plane's gateway responses: typed errors that
// pipeline steps return and one function that renders them, with the
// statuses, headers and texts of Amazon API Gateway.
package fault

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Type names a gateway response type (AWS's GatewayResponseType).
type Type string

// The gateway response types apigw produces.
const (
	MissingAuthenticationToken Type = "MISSING_AUTHENTICATION_TOKEN"
	InvalidAPIKey              Type = "INVALID_API_KEY"
	AccessDenied               Type = "ACCESS_DENIED"
	InvalidSignature           Type = "INVALID_SIGNATURE"
	ExpiredToken               Type = "EXPIRED_TOKEN"
	Unauthorized               Type = "UNAUTHORIZED"
	Throttled                  Type = "THROTTLED"
	QuotaExceeded              Type = "QUOTA_EXCEEDED"
	BadRequestBody             Type = "BAD_REQUEST_BODY"
	BadRequestParameters       Type = "BAD_REQUEST_PARAMETERS"
	RequestTooLarge            Type = "REQUEST_TOO_LARGE"
	IntegrationTimeout         Type = "INTEGRATION_TIMEOUT"
	IntegrationFailure         Type = "INTEGRATION_FAILURE"
	APIConfigurationError      Type = "API_CONFIGURATION_ERROR"
	AuthorizerFailure          Type = "AUTHORIZER_FAILURE"
	ResourceNotFound           Type = "RESOURCE_NOT_FOUND"
	Default4XX                 Type = "DEFAULT_4XX"
	Default5XX                 Type = "DEFAULT_5XX"
	UnsupportedMediaType       Type = "UNSUPPORTED_MEDIA_TYPE"
	// Types a gateway response may customise though apigw does not raise
	// them (yet).
	AuthorizerConfigurationError Type = "AUTHORIZER_CONFIGURATION_ERROR"
	WAFFiltered                  Type = "WAF_FILTERED"
)

// Types lists every gateway response type in the order of AWS's
// GatewayResponseType enumeration, with its default status code ("" for
// DEFAULT_4XX and DEFAULT_5XX, which have none). Index gives a type's
// position here.
var Types = [NumTypes]struct {
	Type   Type
	Status string
}{
	{Default4XX, ""},
	{Default5XX, ""},
	{ResourceNotFound, "404"},
	{Unauthorized, "401"},
	{InvalidAPIKey, "403"},
	{AccessDenied, "403"},
	{AuthorizerFailure, "500"},
	{AuthorizerConfigurationError, "500"},
	{InvalidSignature, "403"},
	{ExpiredToken, "403"},
	{MissingAuthenticationToken, "403"},
	{IntegrationFailure, "504"},
	{IntegrationTimeout, "504"},
	{APIConfigurationError, "500"},
	{UnsupportedMediaType, "415"},
	{BadRequestParameters, "400"},
	{BadRequestBody, "400"},
	{RequestTooLarge, "413"},
	{Throttled, "429"},
	{QuotaExceeded, "429"},
	{WAFFiltered, "403"},
}

// NumTypes is the number of gateway response types.
const NumTypes = 21

// Index is t's position in Types, or -1 for a name that is not a type. It
// is a switch, not a map, so rendering an error looks nothing up.
func (t Type) Index() int {
	switch t {
	case Default4XX:
		return 0
	case Default5XX:
		return 1
	case ResourceNotFound:
		return 2
	case Unauthorized:
		return 3
	case InvalidAPIKey:
		return 4
	case AccessDenied:
		return 5
	case AuthorizerFailure:
		return 6
	case AuthorizerConfigurationError:
		return 7
	case InvalidSignature:
		return 8
	case ExpiredToken:
		return 9
	case MissingAuthenticationToken:
		return 10
	case IntegrationFailure:
		return 11
	case IntegrationTimeout:
		return 12
	case APIConfigurationError:
		return 13
	case UnsupportedMediaType:
		return 14
	case BadRequestParameters:
		return 15
	case BadRequestBody:
		return 16
	case RequestTooLarge:
		return 17
	case Throttled:
		return 18
	case QuotaExceeded:
		return 19
	case WAFFiltered:
		return 20
	}
	return -1
}

// DefaultTemplate is the body template of every gateway response AWS
// creates with an API.
const DefaultTemplate = `{"message":$context.error.messageString}`

// Error is a gateway response. Steps of the pipeline return it; Write
// renders it.
type Error struct {
	Type      Type
	Status    int
	ErrorType string // x-amzn-ErrorType
	Message   string
	// ValidationError is a request validator's complaint (BAD_REQUEST_BODY,
	// BAD_REQUEST_PARAMETERS): $context.error.validationErrorString in
	// gateway response templates. It is not in the default body.
	ValidationError string
	// MessageKey is the body's key: "message", or "Message" for IAM denials.
	MessageKey string
	// NullMessage renders {"message": null}, as AWS answers authorizer
	// failures.
	NullMessage bool
	// Header holds extra response headers (Retry-After, WWW-Authenticate).
	Header http.Header
	// Cause is the underlying error, for logs only; never sent.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return string(e.Type) + ": " + e.Message + ": " + e.Cause.Error()
	}
	return string(e.Type) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// Common gateway responses.
var (
	ErrMissingAuthenticationToken = &Error{Type: MissingAuthenticationToken, Status: 403, ErrorType: "MissingAuthenticationTokenException", Message: "Missing Authentication Token"}
	ErrForbidden                  = &Error{Type: Default4XX, Status: 403, ErrorType: "ForbiddenException", Message: "Forbidden"}
	ErrInvalidAPIKey              = &Error{Type: InvalidAPIKey, Status: 403, ErrorType: "ForbiddenException", Message: "Forbidden"}
	// ErrMisdirectedRequest answers a request whose Host is not the name
	// its mutual-TLS connection was opened for (SNI).
	ErrMisdirectedRequest = &Error{Type: Default4XX, Status: 421, ErrorType: "MisdirectedRequestException", Message: "Misdirected Request"}
	// ErrInvalidPath answers a path that hides a dot segment behind an
	// encoding, which a backend could read as a step up the tree.
	ErrInvalidPath        = &Error{Type: Default4XX, Status: 400, ErrorType: "BadRequestException", Message: "Invalid request path: a segment decodes to '.' or '..'"}
	ErrRequestTooLarge    = &Error{Type: RequestTooLarge, Status: 413, ErrorType: "RequestEntityTooLargeException", Message: "Request Too Long"}
	ErrIntegrationTimeout = &Error{Type: IntegrationTimeout, Status: 504, ErrorType: "InternalServerErrorException", Message: "Endpoint request timed out"}
	ErrThrottled          = &Error{Type: Throttled, Status: 429, ErrorType: "TooManyRequestsException", Message: "Too Many Requests"}
	ErrQuotaExceeded      = &Error{Type: QuotaExceeded, Status: 429, ErrorType: "LimitExceededException", Message: "Limit Exceeded"}
	// ErrUnsupportedMediaType answers a request whose content type has no
	// request template when the passthrough behavior refuses it.
	ErrUnsupportedMediaType = &Error{Type: UnsupportedMediaType, Status: 415, ErrorType: "UnsupportedMediaTypeException", Message: "Unsupported Media Type"}
)

// IntegrationFailureErr reports a backend that could not be reached or answered
// badly; cause goes to the log only.
func IntegrationFailureErr(cause error) *Error {
	return &Error{Type: IntegrationFailure, Status: 502, ErrorType: "InternalServerErrorException", Message: "Internal server error", Cause: cause}
}

// ConfigurationError reports an API whose configuration cannot serve the
// request (AWS: "Execution failed due to configuration error").
func ConfigurationError(cause error) *Error {
	return &Error{Type: APIConfigurationError, Status: 500, ErrorType: "InternalServerErrorException", Message: "Internal server error", Cause: cause}
}

// As returns err's gateway response; an error that is not one is a 500
// of type DEFAULT_5XX.
func As(err error) *Error {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Type: Default5XX, Status: 500, ErrorType: "InternalServerErrorException", Message: "Internal server error", Cause: err}
	}
	return e
}

// MessageString is $context.error.messageString: the message as a JSON
// string, or null.
func (e *Error) MessageString() string {
	if e.NullMessage {
		return "null"
	}
	b, _ := json.Marshal(e.Message)
	return string(b)
}

// Write renders err. A non-*Error becomes a 500.
func Write(w http.ResponseWriter, err error) {
	e := As(err)
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	key := e.MessageKey
	if key == "" {
		key = "message"
	}
	msg, _ := json.Marshal(e.Message)
	if e.NullMessage {
		msg = []byte("null")
	}
	body := make([]byte, 0, len(key)+len(msg)+6)
	body = append(body, `{"`...)
	body = append(body, key...)
	body = append(body, `":`...)
	body = append(body, msg...)
	body = append(body, '}')
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("x-amzn-ErrorType", e.ErrorType)
	w.WriteHeader(e.Status)
	w.Write(body)
}
