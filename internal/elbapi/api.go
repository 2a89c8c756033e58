// Package elbapi is Wharf's Elastic Load Balancing (v2) API: application and
// network load balancers, target groups, listeners, rules and target
// registrations, served in the AWS Query protocol (form-encoded POST, XML
// answers) so that `aws elbv2` and the AWS SDKs' elasticloadbalancingv2
// clients work against Wharf's endpoint. The resources live in the store
// under elb/ (internal/state/elb.go); the data plane (internal/lb) reads
// them through DataPlaneConfig and reports the targets' health back through
// ReportHealth.
//
// Every load balancer shares the Wharf host's addresses: a listener binds
// its port on the host, so a port serves one listener of one load balancer.
package elbapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Prefix names the service for the request gate and the audit log, and is
// the signing name requests must be signed for.
const Prefix = "elasticloadbalancing"

// Config is what the API needs from its surroundings.
type Config struct {
	Store     store.Store
	Region    string
	AccountID string
	// DNSName is what load balancers answer as their DNS name: the host
	// their listeners bind on.
	DNSName string
	Log     *slog.Logger
	Now     func() time.Time // nil: time.Now
	// Check authenticates and authorizes a request (the server's gate);
	// nil lets every request through.
	Check func(r *http.Request, op string, implemented bool, body []byte) (context.Context, error)
	// Audit records every answered call; nil records nothing.
	Audit func(ctx context.Context, op awsproto.Op, err error, took time.Duration)
	// LeaderStore takes the writes of the loops only the leading server
	// runs (RunJanitor, ReportHealth); nil means Store.
	LeaderStore store.Store
}

// API serves the ELBv2 operations.
type API struct {
	cfg  Config
	st   store.Store
	lst  store.Store // the leader's writes
	log  *slog.Logger
	now  func() time.Time
	arns arns
	cat  *catalog
	ops  map[string]opFunc
	dp   *dataPlane
}

// opFunc runs one operation on its form parameters and returns the result
// to encode (nil for none).
type opFunc func(ctx context.Context, f url.Values) (any, error)

// handle adapts a typed operation.
func handle[In any](fn func(ctx context.Context, in *In) (any, error)) opFunc {
	return func(ctx context.Context, f url.Values) (any, error) {
		in := new(In)
		if err := decodeForm(f, in); err != nil {
			return nil, err
		}
		return fn(ctx, in)
	}
}

// New returns the API; Run must run for its reads to be answered, and
// RunJanitor for drained targets to go.
func New(cfg Config) *API {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DNSName == "" {
		cfg.DNSName = "localhost"
	}
	a := &API{cfg: cfg, st: cfg.Store, lst: cfg.LeaderStore, log: cfg.Log, now: cfg.Now,
		arns: arns{region: cfg.Region, account: cfg.AccountID}}
	if a.lst == nil {
		a.lst = cfg.Store
	}
	a.cat = newCatalog(cfg.Store, cfg.Log)
	a.dp = newDataPlane(a)
	a.ops = map[string]opFunc{
		"CreateLoadBalancer":             handle(a.CreateLoadBalancer),
		"DescribeLoadBalancers":          handle(a.DescribeLoadBalancers),
		"DeleteLoadBalancer":             handle(a.DeleteLoadBalancer),
		"DescribeLoadBalancerAttributes": handle(a.DescribeLoadBalancerAttributes),
		"ModifyLoadBalancerAttributes":   handle(a.ModifyLoadBalancerAttributes),
		"CreateTargetGroup":              handle(a.CreateTargetGroup),
		"DescribeTargetGroups":           handle(a.DescribeTargetGroups),
		"ModifyTargetGroup":              handle(a.ModifyTargetGroup),
		"DescribeTargetGroupAttributes":  handle(a.DescribeTargetGroupAttributes),
		"ModifyTargetGroupAttributes":    handle(a.ModifyTargetGroupAttributes),
		"DeleteTargetGroup":              handle(a.DeleteTargetGroup),
		"CreateListener":                 handle(a.CreateListener),
		"DescribeListeners":              handle(a.DescribeListeners),
		"ModifyListener":                 handle(a.ModifyListener),
		"DeleteListener":                 handle(a.DeleteListener),
		"CreateRule":                     handle(a.CreateRule),
		"DescribeRules":                  handle(a.DescribeRules),
		"DeleteRule":                     handle(a.DeleteRule),
		"RegisterTargets":                handle(a.RegisterTargets),
		"DeregisterTargets":              handle(a.DeregisterTargets),
		"DescribeTargetHealth":           handle(a.DescribeTargetHealth),
		"DescribeTags":                   handle(a.DescribeTags),
		"AddTags":                        handle(a.AddTags),
		"RemoveTags":                     handle(a.RemoveTags),
	}
	return a
}

// Run keeps the API's view of the store current until ctx ends; every
// server runs it.
func (a *API) Run(ctx context.Context) { a.cat.run(ctx) }

// RunJanitor removes drained targets, and those a deleted target group left,
// until ctx ends; the leading server runs it.
func (a *API) RunJanitor(ctx context.Context) { a.janitor(ctx) }

// Implemented reports whether the API serves action.
func (a *API) Implemented(action string) bool { _, ok := a.ops[action]; return ok }

// knownActions are the ELBv2 operations Wharf does not serve: they are
// answered as such rather than as unknown.
var knownActions = map[string]bool{
	"AddListenerCertificates": true, "AddTrustStoreRevocations": true, "CreateTrustStore": true,
	"DeleteSharedTrustStoreAssociation": true, "DeleteTrustStore": true, "DescribeAccountLimits": true,
	"DescribeCapacityReservation": true, "DescribeListenerAttributes": true, "DescribeListenerCertificates": true,
	"DescribeSSLPolicies": true, "DescribeTrustStoreAssociations": true, "DescribeTrustStoreRevocations": true,
	"DescribeTrustStores": true, "GetResourcePolicy": true, "GetTrustStoreCaCertificatesBundle": true,
	"GetTrustStoreRevocationContent": true, "ModifyCapacityReservation": true, "ModifyIpPools": true,
	"ModifyListenerAttributes": true, "ModifyRule": true, "ModifyTrustStore": true,
	"RemoveListenerCertificates": true, "RemoveTrustStoreRevocations": true, "SetIpAddressType": true,
	"SetRulePriorities": true, "SetSecurityGroups": true, "SetSubnets": true,
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// Serves claims the requests of this API: those signed for
// elasticloadbalancing, or unsigned ones whose form names the ELBv2 version.
func (a *API) Serves(r *http.Request) bool {
	if h := r.Header.Get("Authorization"); h != "" {
		return strings.Contains(h, "/"+Prefix+"/aws4_request")
	}
	if r.Body == nil {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	if err != nil {
		return false
	}
	vals, err := url.ParseQuery(string(body))
	return err == nil && (vals.Get("Version") == APIVersion || vals.Get("Version") == classicVersion)
}

// classicVersion is the Version of the classic ELB API, which shares the
// signing name and is refused with a pointer to v2.
const classicVersion = "2012-06-01"

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newRequestID()
	op := awsproto.Op{Name: Prefix + ".(unknown)", RequestID: reqID}
	ctx := r.Context()
	result, action, err := a.serve(r, &ctx)
	if action != "" {
		op.Name = Prefix + "." + action
	}
	if a.cfg.Audit != nil {
		a.cfg.Audit(ctx, op, err, time.Since(start))
	}
	if err != nil {
		e, ok := awsproto.AsError(err)
		if !ok {
			if r.Context().Err() != nil {
				return // the client went away
			}
			a.log.Error("load balancing operation failed", "action", action, "request_id", reqID, "err", err)
			e = &awsproto.Error{Code: codeInternal, Message: "Internal error; the request ID is " + reqID + ". The server log has the details.", Status: http.StatusInternalServerError}
		}
		writeError(w, reqID, e)
		return
	}
	body, err := encodeResult(action, reqID, result)
	if err != nil {
		a.log.Error("encode answer", "action", action, "err", err)
		writeError(w, reqID, &awsproto.Error{Code: codeInternal, Message: "The answer could not be encoded.", Status: http.StatusInternalServerError})
		return
	}
	writeXML(w, http.StatusOK, reqID, body)
}

// serve authenticates, decodes and runs one request; *ctx becomes the
// request's context with the caller's principal.
func (a *API) serve(r *http.Request, ctx *context.Context) (result any, action string, err error) {
	if r.Method != http.MethodPost {
		return nil, "", apiErr(codeInvalidAction, "ELBv2 requests use POST / with a form body.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, "", validation("The request body exceeds %d bytes.", maxBody)
		}
		return nil, "", validation("The request body could not be read: %v.", err)
	}
	vals, perr := url.ParseQuery(string(body))
	action = vals.Get("Action")
	fn, implemented := a.ops[action]
	if a.cfg.Check != nil {
		// Authentication comes first: an unsigned caller learns nothing.
		c, err := a.cfg.Check(r, action, implemented && perr == nil, body)
		if c != nil {
			*ctx = c
		}
		if err != nil {
			return nil, action, err
		}
	}
	switch {
	case perr != nil:
		return nil, "", validation("The request body is not a valid form (application/x-www-form-urlencoded): %v.", perr)
	case action == "":
		return nil, "", apiErr(codeMissingAction, "The request names no Action: send Action=<operation>&Version=%s.", APIVersion)
	case vals.Get("Version") == classicVersion:
		return nil, action, apiErr(codeInvalidAction, "Wharf serves Elastic Load Balancing version %s (aws elbv2), not the classic load balancer API %s (aws elb).", APIVersion, classicVersion)
	case vals.Get("Version") != APIVersion:
		return nil, action, apiErr(codeInvalidAction, "Unsupported Version %q: Wharf serves Elastic Load Balancing version %s.", truncate(vals.Get("Version")), APIVersion)
	case !implemented && knownActions[action]:
		return nil, action, apiErr(codeInvalidAction, "Wharf does not implement %s yet.", action)
	case !implemented:
		return nil, "", apiErr(codeInvalidAction, "Could not find operation %s for version %s.", truncate(action), APIVersion)
	}
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("load balancing operation panicked", "action", action, "panic", fmt.Sprint(p))
			result, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	result, err = fn(*ctx, vals)
	return result, action, err
}
