package lambda

import (
	"fmt"
	"net/http"

	"github.com/apigw/apigw/internal/jsonhttp"
)

// Exception types of the Lambda API.
const (
	ResourceNotFound      = "ResourceNotFoundException"
	ResourceConflict      = "ResourceConflictException"
	InvalidParameterValue = "InvalidParameterValueException"
	InvalidRequestContent = "InvalidRequestContentException"
	ValidationError       = "ValidationException"
	PreconditionFailed    = "PreconditionFailedException"
	RequestEntityTooLarge = "RequestEntityTooLargeException"
	AccessDenied          = "AccessDeniedException"
	ServiceError          = "ServiceException"
	TooManyRequests       = "TooManyRequestsException"
)

func newError(status int, typ, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Status: status, Type: typ, Message: msg}
}

func notFound(format string, args ...any) *Error {
	return newError(http.StatusNotFound, ResourceNotFound, format, args...)
}

func conflict(format string, args ...any) *Error {
	return newError(http.StatusConflict, ResourceConflict, format, args...)
}

func invalidParam(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, InvalidParameterValue, format, args...)
}

// validation is a Smithy constraint failure: "1 validation error detected:
// Value '{v}' at '{member}' failed to satisfy constraint: {constraint}".
func validation(value, member, constraint string) *Error {
	return newError(http.StatusBadRequest, ValidationError,
		"1 validation error detected: Value %s at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func quoted(s string) string { return "'" + s + "'" }

func errFunctionNotFound(arn string) *Error { return notFound("Function not found: %s", arn) }

var (
	errNoPolicy      = notFound("The resource you requested does not exist.")
	errNoPolicyOnFn  = notFound("No policy is associated with the given resource.")
	errCouldNotUnzip = invalidParam("Could not unzip uploaded file. Please check your file, then try to upload again.")
	errUnzippedSize  = invalidParam("Unzipped size must be smaller than %d bytes", MaxUnzippedBytes)
	errInternal      = newError(http.StatusInternalServerError, ServiceError, "The Lambda service encountered an internal error.")
)

func errRevision(api string) *Error {
	return newError(http.StatusPreconditionFailed, PreconditionFailed,
		"The Revision Id provided does not match the latest Revision Id. Call the %s API to retrieve the latest Revision Id", api)
}

// WriteError writes e in the Lambda API's REST-JSON error shape: the
// x-amzn-ErrorType header and {"Type": "User", "message": ...}, with
// "Reason" for a throttle.
func WriteError(w http.ResponseWriter, e *Error) {
	w.Header().Set("x-amzn-ErrorType", e.Type)
	body := map[string]string{"message": e.Message}
	if e.Reason != "" {
		body["Reason"] = e.Reason
	}
	switch {
	case e.Type == ValidationError:
		// A Smithy validation failure carries no Type.
	case e.Status >= 500:
		body["Type"] = "Service"
	default:
		body["Type"] = "User"
	}
	jsonhttp.Write(w, e.Status, body)
}
