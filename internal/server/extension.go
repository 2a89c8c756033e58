package server

import (
	"context"
	"net/http"
	"time"

	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/keyring"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Subsystems beyond the ECS core (load balancing, logs, metrics, ...) plug
// into the server through extensions, one file each: an extension adds its
// AWS JSON services to the Mux with their gate rules, its HTTP routes, a
// handler for AWS Query protocol requests, and background loops.

// Setup is what an extension gets to wire itself in.
type Setup struct {
	Server  *Server
	Config  *Config
	Store   store.Store
	Keyring *keyring.Keyring
	// Mux serves AWS JSON 1.1 (X-Amz-Target) requests; every service
	// added to it needs rules on Gate, or its calls are refused.
	Mux  *awsproto.Mux
	Gate *auth.Gate
	// HTTP serves every other route ("GET /metrics", "/events", ...).
	HTTP *http.ServeMux
}

// Audit writes the audit line of a call served outside the Mux (a Query
// protocol operation): op.Name is then "service.Operation" and op.Service nil.
func (x *Setup) Audit(ctx context.Context, op awsproto.Op, err error, took time.Duration) {
	x.Server.audit.record(ctx, op, err, took)
}

// Query routes AWS Query protocol requests (POST / with a form body and no
// X-Amz-Target) for one service. The handler must authenticate through
// Gate.Check itself.
func (x *Setup) Query(h http.Handler) { x.Server.query = append(x.Server.query, h) }

// OnCall has fn told of every answered AWS JSON call, after the audit line
// (metrics).
func (x *Setup) OnCall(fn func(ctx context.Context, op awsproto.Op, err error, took time.Duration)) {
	x.Server.onCall = append(x.Server.onCall, fn)
}

// Background runs fn for as long as the server runs.
func (x *Setup) Background(fn func(ctx context.Context)) {
	x.Server.background = append(x.Server.background, fn)
}

// OnShutdown runs fn when the server begins shutting down, before HTTP
// requests in flight are drained (to end long polls and streams).
func (x *Setup) OnShutdown(fn func()) { x.Server.onShutdown = append(x.Server.onShutdown, fn) }

type extension struct {
	name  string
	setup func(*Setup) error
}

var extensions []extension

// register adds an extension; each extension file calls it from init.
func register(name string, setup func(*Setup) error) {
	extensions = append(extensions, extension{name, setup})
}

// QueryHandler is a Query protocol handler that says whether it serves a
// request (by its Action or signing scope) before serving it.
type QueryHandler interface {
	http.Handler
	Serves(r *http.Request) bool
}
