package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/ecsapi"
	"github.com/wharf-ecs/wharf/internal/metrics"
)

// The metrics extension: agents' usage samples become per-task and
// per-service utilization (Server.Metrics, which Service Auto Scaling
// reads), and GET /metrics exposes it to Prometheus with API latencies,
// placement counts, controller queue depths, tasks by state and instance
// resources.

func init() { register("metrics", setupMetrics) }

// observePrefix names the gate rules of the observability routes (GET
// /metrics and /events), which are no AWS JSON service: requests signed for
// "ecs", actions wharf:GetMetrics and wharf:GetEvents in policies.
const observePrefix = "WharfObserve"

// observeRules are the gate rules of observePrefix: signed for "ecs"; the
// observability handlers authorize the wharf: actions themselves.
var observeRules = auth.Rules{SigningName: "ecs", ActionPrefix: "wharf"}

// observability is what the metrics and events extensions share per server.
type observability struct {
	util *metrics.Utilization
	reg  *prometheus.Registry
}

var observed sync.Map // *Server → *observability

func (s *Server) observability() *observability {
	if v, ok := observed.Load(s); ok {
		return v.(*observability)
	}
	o := &observability{
		util: metrics.New(metrics.Config{Store: s.store, Log: s.log.With("subsystem", "metrics")}),
		reg:  prometheus.NewRegistry(),
	}
	v, _ := observed.LoadOrStore(s, o)
	return v.(*observability)
}

// Metrics is the utilization of the server's tasks and services, from the
// samples its agents send: the metrics.Source that Service Auto Scaling
// reads.
func (s *Server) Metrics() *metrics.Utilization { return s.observability().util }

// MetricsRegistry is the Prometheus registry GET /metrics exposes; other
// extensions add their collectors to it.
func (s *Server) MetricsRegistry() *prometheus.Registry { return s.observability().reg }

func setupMetrics(x *Setup) error {
	s := x.Server
	o := s.observability()
	s.api.SetStatsSink(o.util)
	x.Background(o.util.Run)
	x.OnShutdown(func() { observed.Delete(s) })

	calls := metrics.NewCalls()
	x.OnCall(func(_ context.Context, op awsproto.Op, err error, took time.Duration) { calls.Observe(op, err, took) })
	reg := o.reg
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		o.util.Collector(),
		calls.Collector(),
	)
	api, svcs := s.api, s.services
	placement := func(name, help string, v func(ecsapi.PlacementStats) uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(api.PlacementStats())) }))
	}
	placement("wharf_scheduler_batches_total", "Placement commits attempted; each carries the launches that waited for the cluster's placement worker.",
		func(p ecsapi.PlacementStats) uint64 { return p.Batches })
	placement("wharf_scheduler_tasks_placed_total", "Tasks placed onto container instances and committed.",
		func(p ecsapi.PlacementStats) uint64 { return p.Placed })
	placement("wharf_scheduler_tasks_unplaced_total", "Tasks asked for that no container instance could take (RunTask failures, service placement failures).",
		func(p ecsapi.PlacementStats) uint64 { return p.Unplaced })
	placement("wharf_scheduler_conflicts_total", "Placement commits that lost an optimistic race (an instance changed since the snapshot) and were retried.",
		func(p ecsapi.PlacementStats) uint64 { return p.Conflicts })
	queue := prometheus.GaugeOpts{Name: "wharf_controller_queue_depth",
		Help: "Work waiting: launches for the placement workers (controller=placement), clusters for the service controller's next round (controller=service)."}
	queue.ConstLabels = prometheus.Labels{"controller": "placement"}
	reg.MustRegister(prometheus.NewGaugeFunc(queue, func() float64 { return float64(api.PlacementStats().Queued) }))
	queue.ConstLabels = prometheus.Labels{"controller": "service"}
	reg.MustRegister(prometheus.NewGaugeFunc(queue, func() float64 { return float64(svcs.QueueDepth()) }))

	x.Gate.Register(observePrefix, observeRules)
	prom := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	x.HTTP.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := authorizeObserver(x, r, "GetMetrics", []string{"*"}); err != nil {
			writeAWSError(w, err)
			return
		}
		prom.ServeHTTP(w, r)
	}))
	return nil
}

// authorizeObserver lets a request to GET /metrics or /events through when
// its caller may perform wharf:op on resources. Callers prove who they are
// with a SigV4 signature (service "ecs") as for the API, or, for clients
// that cannot sign (Prometheus, curl, a browser), with HTTP Basic
// authentication of an access key ID and its secret: use HTTPS, and a user
// whose policy allows only these actions. Agent credentials are refused.
func authorizeObserver(x *Setup, r *http.Request, op string, resources []string) error {
	if !x.Gate.Enabled() {
		return nil
	}
	var p *auth.Principal
	if id, secret, ok := r.BasicAuth(); ok {
		p = basicPrincipal(x.Config.Credentials, id, secret)
		if p == nil {
			return &awsproto.Error{Code: auth.CodeUnrecognizedClient, Status: http.StatusBadRequest,
				Message: "The access key ID and secret given with Basic authentication do not match a known user's."}
		}
	} else {
		ctx, err := x.Gate.Check(r, observePrefix, op, false, nil)
		if err != nil {
			return err
		}
		p = auth.PrincipalFrom(ctx)
	}
	action := "wharf:" + op
	switch p.Kind {
	case auth.Root, auth.Anonymous:
		return nil
	case auth.Agent:
		return auth.AccessDenied("The agent credential of container instance " + p.InstanceArn + " is not authorized to perform: " + action + "; use a user's access key.")
	}
	if p.Policy == nil {
		return auth.AccessDenied("User " + p.Name + " is not authorized to perform: " + action + " because no identity-based policy allows the " + action + " action")
	}
	return p.Policy.Authorize(p.Name, action, resources)
}

// basicPrincipal is the user whose access key and secret are id and secret,
// or nil.
func basicPrincipal(creds auth.Credentials, id, secret string) *auth.Principal {
	if creds == nil {
		return nil
	}
	want, p, ok := creds.Lookup(id)
	if !ok || p == nil || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
		return nil
	}
	return p
}

// writeAWSError answers err in the AWS JSON error shape.
func writeAWSError(w http.ResponseWriter, err error) {
	e, ok := awsproto.AsError(err)
	if !ok {
		e = &awsproto.Error{Code: "ServerException", Message: err.Error(), Status: http.StatusInternalServerError}
	}
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
}
