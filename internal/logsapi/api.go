// Package logsapi is Wharf's CloudWatch Logs: a subset of the CloudWatch Logs
// API (AWS JSON 1.1, X-Amz-Target "Logs_20140328.*", signed for "logs") on the
// log store of package logstore. Agents ship the output of containers whose
// task definitions use the awslogs log driver into it with PutLogEvents; the
// aws CLI, the SDKs and `wharf logs` read it back.
//
// Served: CreateLogGroup, DeleteLogGroup, DescribeLogGroups,
// PutLogGroupDeletionProtection, PutRetentionPolicy, DeleteRetentionPolicy, CreateLogStream,
// DeleteLogStream, DescribeLogStreams, PutLogEvents, GetLogEvents,
// FilterLogEvents and TestMetricFilter. Filter patterns are the unstructured
// ones (terms, "quoted phrases", -exclusions, ?alternatives, %regex%); JSON
// and space-delimited patterns are refused with a message saying so.
package logsapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/logsapi/logstore"
)

// TargetPrefix is the X-Amz-Target prefix of the CloudWatch Logs API.
const TargetPrefix = "Logs_20140328"

// Config is what the logs API needs.
type Config struct {
	Logs      *logstore.Store
	Region    string
	AccountID string
	Log       *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Changed, when set, is told after each append with the store's stored
	// bytes, so that the owner can enforce the size limit promptly.
	Changed func(storedBytes int64)
}

// API serves the CloudWatch Logs operations.
type API struct {
	logs    *logstore.Store
	region  string
	account string
	log     *slog.Logger
	now     func() time.Time
	changed func(int64)
	service *awsproto.Service
}

// New returns the API with its operations registered.
func New(cfg Config) *API {
	a := &API{logs: cfg.Logs, region: cfg.Region, account: cfg.AccountID, log: cfg.Log, now: cfg.Now, changed: cfg.Changed}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	s := awsproto.NewService(TargetPrefix, operations)
	// A PutLogEvents batch may hold 1,048,576 bytes of messages; on the wire
	// each message is JSON escaped (up to six bytes a byte) among its event's
	// members. The batch rules themselves are checked once decoded.
	s.MaxBodyBytes = 8 << 20
	awsproto.Handle(s, "CreateLogGroup", a.CreateLogGroup)
	awsproto.Handle(s, "DeleteLogGroup", a.DeleteLogGroup)
	awsproto.Handle(s, "PutLogGroupDeletionProtection", a.PutLogGroupDeletionProtection)
	awsproto.Handle(s, "DescribeLogGroups", a.DescribeLogGroups)
	awsproto.Handle(s, "PutRetentionPolicy", a.PutRetentionPolicy)
	awsproto.Handle(s, "DeleteRetentionPolicy", a.DeleteRetentionPolicy)
	awsproto.Handle(s, "CreateLogStream", a.CreateLogStream)
	awsproto.Handle(s, "DeleteLogStream", a.DeleteLogStream)
	awsproto.Handle(s, "DescribeLogStreams", a.DescribeLogStreams)
	awsproto.Handle(s, "PutLogEvents", a.PutLogEvents)
	awsproto.Handle(s, "GetLogEvents", a.GetLogEvents)
	awsproto.Handle(s, "FilterLogEvents", a.FilterLogEvents)
	awsproto.Handle(s, "TestMetricFilter", a.TestMetricFilter)
	a.service = s
	return a
}

// Service returns the dispatcher to mount on an awsproto.Mux.
func (a *API) Service() *awsproto.Service { return a.service }

// CloudWatch Logs error shape names.
const (
	codeInvalidParameter = "InvalidParameterException"
	codeNotFound         = "ResourceNotFoundException"
	codeAlreadyExists    = "ResourceAlreadyExistsException"
	codeUnavailable      = "ServiceUnavailableException"
	codeOperationAborted = "OperationAbortedException"
)

func invalid(format string, args ...any) error {
	return awsproto.Errorf(codeInvalidParameter, format, args...)
}

// storeErr turns a log store error into the API's error shape.
func storeErr(err error, group, stream string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, logstore.ErrGroupNotFound):
		return awsproto.Errorf(codeNotFound, "The specified log group does not exist: %s. Create it with CreateLogGroup (aws logs create-log-group --log-group-name %s), or set the awslogs-create-group option to true in the task definition.", group, group)
	case errors.Is(err, logstore.ErrStreamNotFound):
		return awsproto.Errorf(codeNotFound, "The specified log stream does not exist: %s in log group %s. Create it with CreateLogStream.", stream, group)
	case errors.Is(err, logstore.ErrGroupExists):
		return awsproto.Errorf(codeAlreadyExists, "The specified log group already exists: %s.", group)
	case errors.Is(err, logstore.ErrStreamExists):
		return awsproto.Errorf(codeAlreadyExists, "The specified log stream already exists: %s in log group %s.", stream, group)
	}
	if _, ok := awsproto.AsError(err); ok {
		return err
	}
	return &awsproto.Error{Code: codeUnavailable, Message: "The log store could not complete the request: " + err.Error(), Status: http.StatusServiceUnavailable}
}

// groupARN is a log group's ARN without the trailing ":*" (logGroupArn).
func (a *API) groupARN(name string) string {
	return "arn:aws:logs:" + a.region + ":" + a.account + ":log-group:" + name
}

// streamARN is a log stream's ARN.
func (a *API) streamARN(group, stream string) string {
	return a.groupARN(group) + ":log-stream:" + stream
}

// nameFromIdentifier returns the group name a logGroupIdentifier (a name or
// an ARN, with or without a trailing ":*") names.
func (a *API) nameFromIdentifier(id string) (string, error) {
	if !strings.HasPrefix(id, "arn:") {
		return id, checkGroupName(id, "logGroupIdentifier")
	}
	prefix := a.groupARN("")
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok {
		return "", awsproto.Errorf(codeNotFound, "The log group ARN %s is not of this server: log group ARNs here begin with %s.", id, prefix)
	}
	rest = strings.TrimSuffix(rest, ":*")
	return rest, checkGroupName(rest, "logGroupIdentifier")
}

// group resolves the logGroupName / logGroupIdentifier pair of a request:
// exactly one of them must be given.
func (a *API) group(name, ident *string) (string, error) {
	switch {
	case name != nil && ident != nil:
		return "", invalid("Give either logGroupName or logGroupIdentifier, not both.")
	case name != nil:
		return *name, checkGroupName(*name, "logGroupName")
	case ident != nil:
		return a.nameFromIdentifier(*ident)
	}
	return "", invalid("Give the log group: logGroupName or logGroupIdentifier is required.")
}

func (a *API) nowMillis() int64 { return a.now().UnixMilli() }
