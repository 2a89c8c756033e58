// Package ssmapi is Wharf's SSM Parameter Store: the parameter operations of
// the AWS Systems Manager API (AWS JSON 1.1, X-Amz-Target "AmazonSSM.*") on
// Wharf's store. SecureString values are sealed with the server's master key
// before they reach the store. The ECS side reads task definition secrets
// through Resolve.
//
// Served: PutParameter, GetParameter, GetParameters, GetParametersByPath,
// GetParameterHistory, DeleteParameter, DeleteParameters and
// DescribeParameters. Only the Standard tier exists (values up to 4 KiB, no
// policies); KeyId is recorded but every SecureString is sealed with the
// master key; labels, tags operations and sharing are not supported.
package ssmapi

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/keyring"
	"github.com/wharf-ecs/wharf/internal/store"
)

// TargetPrefix is the X-Amz-Target prefix of the SSM API.
const TargetPrefix = "AmazonSSM"

// Config is what the parameter store needs from its surroundings.
type Config struct {
	Store     store.Store
	Region    string
	AccountID string
	// Keyring seals SecureString values; without one, SecureString
	// parameters are refused.
	Keyring *keyring.Keyring
	Log     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// API serves the parameter operations.
type API struct {
	st      store.Store
	region  string
	account string
	kr      *keyring.Keyring
	log     *slog.Logger
	now     func() time.Time
	service *awsproto.Service
}

// New returns the parameter store with its operations registered.
func New(cfg Config) *API {
	a := &API{st: cfg.Store, region: cfg.Region, account: cfg.AccountID, kr: cfg.Keyring, log: cfg.Log, now: cfg.Now}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	s := awsproto.NewService(TargetPrefix, operations)
	awsproto.Handle(s, "PutParameter", a.PutParameter)
	awsproto.Handle(s, "GetParameter", a.GetParameter)
	awsproto.Handle(s, "GetParameters", a.GetParameters)
	awsproto.Handle(s, "GetParametersByPath", a.GetParametersByPath)
	awsproto.Handle(s, "GetParameterHistory", a.GetParameterHistory)
	awsproto.Handle(s, "DeleteParameter", a.DeleteParameter)
	awsproto.Handle(s, "DeleteParameters", a.DeleteParameters)
	awsproto.Handle(s, "DescribeParameters", a.DescribeParameters)
	a.service = s
	return a
}

// Service returns the dispatcher to mount on an awsproto.Mux.
func (a *API) Service() *awsproto.Service { return a.service }

// SSM error shape names.
const (
	codeValidation               = "ValidationException"
	codeParameterNotFound        = "ParameterNotFound"
	codeParameterAlreadyExists   = "ParameterAlreadyExists"
	codeParameterVersionNotFound = "ParameterVersionNotFound"
	codeHierarchyLevelLimit      = "HierarchyLevelLimitExceededException"
	codeInvalidNextToken         = "InvalidNextToken"
	codeInvalidFilterKey         = "InvalidFilterKey"
	codeInvalidFilterOption      = "InvalidFilterOption"
	codeInvalidFilterValue       = "InvalidFilterValue"
	codeInvalidAllowedPattern    = "InvalidAllowedPatternException"
	codePatternMismatch          = "ParameterPatternMismatchException"
	codeInvalidKeyID             = "InvalidKeyId"
	codeUnsupportedParameterType = "UnsupportedParameterType"
	codeInternal                 = "InternalServerError"
)

func validation(format string, args ...any) error {
	return awsproto.Errorf(codeValidation, format, args...)
}

func notFound(name string) error {
	return awsproto.Errorf(codeParameterNotFound, "Parameter %s not found. Create it with PutParameter (aws ssm put-parameter --name %s ...), or check the name: names are case sensitive and a name in a hierarchy begins with \"/\".", name, name)
}

// internal is SSM's server-side error, for failures that are no client's fault.
func internal(msg string) error {
	return &awsproto.Error{Code: codeInternal, Message: msg, Status: http.StatusInternalServerError}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// isClientErr reports whether err is an API error the request caused (a
// missing or malformed parameter), as opposed to a failure of the server.
func isClientErr(err error) bool {
	e, ok := awsproto.AsError(err)
	return ok && e.Status < http.StatusInternalServerError
}
