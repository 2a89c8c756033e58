// Package sdapi is Wharf's service discovery: a subset of the AWS Cloud Map
// API (AWS JSON 1.1, X-Amz-Target "Route53AutoNaming_v20170314.*", signed for
// "servicediscovery") on Wharf's store, a DNS server answering for its
// private DNS namespaces, and a registrar that registers the tasks of ECS
// services with serviceRegistries as instances.
//
// Served: CreateHttpNamespace, CreatePrivateDnsNamespace, GetNamespace,
// ListNamespaces, DeleteNamespace, CreateService, GetService, ListServices,
// DeleteService, RegisterInstance, DeregisterInstance, GetInstance,
// ListInstances, GetInstancesHealthStatus, UpdateInstanceCustomHealthStatus,
// DiscoverInstances, DiscoverInstancesRevision, GetOperation, ListOperations
// and the tag operations. Public DNS namespaces and Route 53 health checks
// (HealthCheckConfig) are refused; custom health checks are served.
//
// Operations that are asynchronous in AWS (namespace creation and deletion,
// instance registration) are applied before Wharf answers: the OperationId
// they return reads SUCCESS at once.
package sdapi

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/store"
)

// TargetPrefix is the X-Amz-Target prefix of the Cloud Map API.
const TargetPrefix = "Route53AutoNaming_v20170314"

// SigningName is the service name Cloud Map requests are signed for.
const SigningName = "servicediscovery"

// Config is what the API needs from its surroundings.
type Config struct {
	Store     store.Store
	Region    string
	AccountID string
	Log       *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OperationRetention is how long operation records are kept; default
	// one day.
	OperationRetention time.Duration
}

// API serves the Cloud Map operations.
type API struct {
	st        store.Store
	region    string
	account   string
	log       *slog.Logger
	now       func() time.Time
	retention time.Duration
	catalog   *Catalog
	dispatch  *awsproto.Service
}

// New returns the API with its operations registered. Its catalog (the
// watch-fed view DiscoverInstances and the DNS server read) runs with Run.
func New(cfg Config) *API {
	a := &API{st: cfg.Store, region: cfg.Region, account: cfg.AccountID, log: cfg.Log, now: cfg.Now, retention: cfg.OperationRetention}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.retention <= 0 {
		a.retention = 24 * time.Hour
	}
	a.catalog = NewCatalog(cfg.Store, a.log)
	s := awsproto.NewService(TargetPrefix, operations)
	awsproto.Handle(s, "CreateHttpNamespace", a.CreateHttpNamespace)
	awsproto.Handle(s, "CreatePrivateDnsNamespace", a.CreatePrivateDnsNamespace)
	awsproto.Handle(s, "CreatePublicDnsNamespace", a.CreatePublicDnsNamespace)
	awsproto.Handle(s, "GetNamespace", a.GetNamespace)
	awsproto.Handle(s, "ListNamespaces", a.ListNamespaces)
	awsproto.Handle(s, "DeleteNamespace", a.DeleteNamespace)
	awsproto.Handle(s, "CreateService", a.CreateService)
	awsproto.Handle(s, "GetService", a.GetService)
	awsproto.Handle(s, "ListServices", a.ListServices)
	awsproto.Handle(s, "DeleteService", a.DeleteService)
	awsproto.Handle(s, "RegisterInstance", a.RegisterInstance)
	awsproto.Handle(s, "DeregisterInstance", a.DeregisterInstance)
	awsproto.Handle(s, "GetInstance", a.GetInstance)
	awsproto.Handle(s, "ListInstances", a.ListInstances)
	awsproto.Handle(s, "GetInstancesHealthStatus", a.GetInstancesHealthStatus)
	awsproto.Handle(s, "UpdateInstanceCustomHealthStatus", a.UpdateInstanceCustomHealthStatus)
	awsproto.Handle(s, "DiscoverInstances", a.DiscoverInstances)
	awsproto.Handle(s, "DiscoverInstancesRevision", a.DiscoverInstancesRevision)
	awsproto.Handle(s, "GetOperation", a.GetOperation)
	awsproto.Handle(s, "ListOperations", a.ListOperations)
	awsproto.Handle(s, "TagResource", a.TagResource)
	awsproto.Handle(s, "UntagResource", a.UntagResource)
	awsproto.Handle(s, "ListTagsForResource", a.ListTagsForResource)
	a.dispatch = s
	return a
}

// Service returns the dispatcher to mount on an awsproto.Mux.
func (a *API) Service() *awsproto.Service { return a.dispatch }

// Catalog is the watch-fed view of namespaces, services and instances.
func (a *API) Catalog() *Catalog { return a.catalog }

// Run keeps the catalog current and prunes old operation records until ctx
// ends. Every server runs it (the catalog serves reads and DNS).
func (a *API) Run(ctx context.Context) {
	go a.catalog.Run(ctx)
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		a.pruneOperations(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Cloud Map error shape names.
const (
	codeInvalidInput           = "InvalidInput"
	codeNamespaceNotFound      = "NamespaceNotFound"
	codeNamespaceAlreadyExists = "NamespaceAlreadyExists"
	codeServiceNotFound        = "ServiceNotFound"
	codeServiceAlreadyExists   = "ServiceAlreadyExists"
	codeInstanceNotFound       = "InstanceNotFound"
	codeOperationNotFound      = "OperationNotFound"
	codeResourceInUse          = "ResourceInUse"
	codeCustomHealthNotFound   = "CustomHealthNotFound"
	codeResourceNotFound       = "ResourceNotFoundException"
	codeTooManyTags            = "TooManyTagsException"
)

func invalid(format string, args ...any) error {
	return awsproto.Errorf(codeInvalidInput, format, args...)
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func (a *API) timeNow() *model.Time { return model.NewTime(a.now()) }

// retry runs fn again when its conditional commit lost a race, a bounded
// number of times.
func retry(ctx context.Context, fn func() error) error {
	for range 20 {
		err := fn()
		if !store.IsConflict(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return &awsproto.Error{Code: "RequestLimitExceeded", Message: "The request kept conflicting with concurrent changes; retry it.", Status: http.StatusBadRequest}
}

// IDs in Cloud Map's forms: ns- and srv- followed by 16 lower-case letters
// and digits, operation IDs of 32 and 8 such characters joined by '-', and
// Route 53 hosted zone IDs of upper-case letters and digits after 'Z'.
const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func newNamespaceID() string  { return "ns-" + randomString(lowerAlnum, 16) }
func newServiceID() string    { return "srv-" + randomString(lowerAlnum, 16) }
func newHostedZoneID() string { return "Z" + randomString(upperAlnum, 20) }
func newOperationID() string  { return randomString(lowerAlnum, 32) + "-" + randomString(lowerAlnum, 8) }
func (a *API) arn(rest string) string {
	return "arn:aws:servicediscovery:" + a.region + ":" + a.account + ":" + rest
}

// idFromRef accepts a resource ID or its ARN (Cloud Map's Id members take
// both) and returns the ID; an ARN of another region, account or resource
// type yields "", which the caller reports as not found.
func (a *API) idFromRef(ref, typ string) string {
	if !strings.HasPrefix(ref, "arn:") {
		return ref
	}
	want := a.arn(typ + "/")
	id, ok := strings.CutPrefix(ref, want)
	if !ok || strings.Contains(id, "/") {
		return ""
	}
	return id
}
