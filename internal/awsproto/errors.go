// Package awsproto speaks the AWS JSON 1.1 protocol: it dispatches requests by
// X-Amz-Target to typed operation handlers, decodes and encodes bodies, and
// writes errors in the shape both botocore and aws-sdk-go-v2 parse.
package awsproto

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an API error with the model's error shape name as Code. Status is
// the HTTP status: 400 for client errors, 500 for ServerException.
type Error struct {
	Code        string
	Message     string
	Status      int
	ResourceIDs []string // ConflictException's resourceIds
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns a client error (HTTP 400) with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// AsError reports whether err is (or wraps) an *Error and returns it.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// Protocol-level error codes common to every AWS JSON service.
const (
	CodeSerialization    = "SerializationException"
	CodeUnknownOperation = "UnknownOperationException"
	CodeServer           = "ServerException"
	CodeThrottling       = "ThrottlingException"
	CodeAccessDenied     = "AccessDeniedException"
)

// errorBody is what goes on the wire. __type carries the code for botocore;
// the X-Amzn-ErrorType header carries it for aws-sdk-go-v2.
type errorBody struct {
	Type        string   `json:"__type"`
	Message     string   `json:"message"`
	ResourceIDs []string `json:"resourceIds,omitempty"`
}
