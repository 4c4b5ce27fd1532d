package control

import (
	"fmt"
	"net/http"
)

// Error is a management API error, rendered in AWS's REST-JSON shape:
// status, header x-amzn-ErrorType and body {"message": "..."}.
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

func notFound(format string, args ...any) *Error {
	return &Error{http.StatusNotFound, "NotFoundException", fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return &Error{http.StatusBadRequest, "BadRequestException", fmt.Sprintf(format, args...)}
}

func validation(format string, args ...any) *Error {
	return &Error{http.StatusBadRequest, "ValidationException", fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *Error {
	return &Error{http.StatusConflict, "ConflictException", fmt.Sprintf(format, args...)}
}

// Texts AWS uses for unknown identifiers.
func (a *API) errNoAPI(id string) *Error {
	return notFound("Invalid API identifier specified %s:%s", a.AccountID, id)
}

var (
	errNoResource            = notFound("Invalid Resource identifier specified")
	errNoMethod              = notFound("Invalid Method identifier specified")
	errNoMethodResponse      = notFound("Invalid Response status code specified")
	errNoIntegration         = notFound("Invalid Integration identifier specified")
	errNoIntegrationResponse = notFound("Invalid Response status code specified")
	errNoDeployment          = notFound("Invalid Deployment identifier specified")
	errNoStage               = notFound("Invalid stage identifier specified") // lowercase, as AWS writes it
	errInvalidPosition       = badRequest("Invalid position parameter")
	errNoClientCertificate   = badRequest("Invalid client certificate identifier specified")
	errNoVpcLink             = badRequest("Invalid Vpc Link identifier specified")
)
