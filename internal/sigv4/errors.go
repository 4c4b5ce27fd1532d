package sigv4

import (
	"errors"
	"net/http"
)

// Error codes, as AWS names them in the x-amzn-ErrorType header / __type field.
const (
	CodeIncompleteSignature        = "IncompleteSignatureException"
	CodeInvalidSignature           = "InvalidSignatureException"
	CodeUnrecognizedClient         = "UnrecognizedClientException"
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	CodeExpiredToken               = "ExpiredTokenException"
)

// Messages that AWS returns verbatim.
const (
	msgMissingAuthToken  = "Missing Authentication Token"
	msgInvalidToken      = "The security token included in the request is invalid."
	msgExpiredToken      = "The security token included in the request is expired"
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgHostNotSigned   = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgFoundBoth       = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
	msgContentSHA      = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgReexamineQuery  = "Re-examine the query-string parameters."
	msgExpiresNumber   = "X-Amz-Expires should be a number"
	msgExpiresNegative = "X-Amz-Expires must be non-negative"
	msgExpiresTooLarge = "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"
)

// ErrUnknownKey is returned by a Lookup when the access key id does not exist
// or is not active. Verify turns it into an UnrecognizedClientException.
var ErrUnknownKey = errors.New("sigv4: unknown or inactive access key")

// ErrExpiredToken may be returned by a Lookup when the key is a temporary
// credential whose session has ended. Verify turns it into an
// ExpiredTokenException.
var ErrExpiredToken = errors.New("sigv4: security token expired")

// Error is a signature verification failure, shaped like the error AWS
// returns: Code is the error type (e.g. "InvalidSignatureException"),
// Status the HTTP status and Message the text AWS puts in "message".
//
// Status follows the AWS service APIs: 400 for IncompleteSignatureException
// (a malformed signature), 403 for everything else. API Gateway's execute-api
// endpoint answers every authentication failure, including
// IncompleteSignatureException, with 403; callers serving execute-api should
// send 403 regardless of Status.
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func incomplete(msg string) *Error {
	return &Error{Code: CodeIncompleteSignature, Status: http.StatusBadRequest, Message: msg}
}

func invalid(msg string) *Error {
	return &Error{Code: CodeInvalidSignature, Status: http.StatusForbidden, Message: msg}
}

func missingToken() *Error {
	return &Error{Code: CodeMissingAuthenticationToken, Status: http.StatusForbidden, Message: msgMissingAuthToken}
}

func unrecognized() *Error {
	return &Error{Code: CodeUnrecognizedClient, Status: http.StatusForbidden, Message: msgInvalidToken}
}

func expiredToken() *Error {
	return &Error{Code: CodeExpiredToken, Status: http.StatusForbidden, Message: msgExpiredToken}
}
