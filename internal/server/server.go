// Package server is Wharf's composition root: it opens the store, builds the
// APIs and controllers, and serves them over HTTP.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/autoscaling"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/capacity"
	servicectl "github.com/wharf-ecs/wharf/internal/controller/service"
	"github.com/wharf-ecs/wharf/internal/ecsapi"
	"github.com/wharf-ecs/wharf/internal/keyring"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/ssmapi"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Config configures a control plane.
type Config struct {
	Listen    string // host:port; port 0 picks a free one
	DataDir   string
	Region    string
	AccountID string
	Log       *slog.Logger
	// AgentTimeout is how long an agent may go without polling before its
	// instance is marked disconnected; default one minute.
	AgentTimeout time.Duration
	// ServiceTuning sets the service controller's timings (tests shorten
	// them); zero values take the defaults.
	ServiceTuning servicectl.Tuning
	// StoppedTaskRetention is how long STOPPED tasks and INACTIVE services
	// stay visible; default one hour.
	StoppedTaskRetention time.Duration

	// Credentials are the users' access keys (the root key and the
	// credentials file). Nil turns authentication off: every caller may do
	// anything, which New allows only on a loopback address unless
	// InsecureNoAuth is set.
	Credentials    auth.Credentials
	InsecureNoAuth bool
	// MasterKeyFile holds the key that seals secrets and derives agent
	// credentials; default DataDir/master.key, created when missing.
	// Replicated servers share one.
	MasterKeyFile string
	// TLSCert and TLSKey serve HTTPS when both are set.
	TLSCert, TLSKey string
	// RateLimitScale multiplies ECS's throttling buckets per access key; 0
	// turns rate limits off.
	RateLimitScale float64
	// AuditLog receives one JSON line per mutating call; nil writes the
	// audit lines to Log.
	AuditLog io.Writer
	// MaxStopTimeout raises ECS's 120-second cap on a container's
	// stopTimeout (seconds; 0 keeps ECS's).
	MaxStopTimeout int32
	// EventWebhooks are URLs that every ECS event (EventBridge shape) is
	// POSTed to, as /events streams them (--events-webhook, repeatable).
	EventWebhooks []string
	// DNSListen is the UDP and TCP address of the DNS server answering for
	// Cloud Map's private DNS namespaces; empty serves no DNS.
	DNSListen string
	// LoadBalancerAddress is the host address the built-in load balancers'
	// listeners bind their ports on ("" binds every interface); "off" binds
	// none in the server, for `wharf lb` nodes to serve them instead.
	LoadBalancerAddress string
	// Etcd, when it names endpoints, keeps the state in etcd for several
	// servers to share (see ha.go and docs/ha.md) instead of DataDir/wharf.db.
	Etcd EtcdConfig
	// LogStorageLimit bounds the bytes of log events the logs API keeps
	// (DATA-DIR/logs), oldest deleted first; 0 means 1 GiB, negative none.
	LogStorageLimit int64
	// AutoScaling sets the Service Auto Scaling controller's timings
	// (--autoscaling-interval; tests shorten them); zero values take the
	// defaults.
	AutoScaling autoscaling.Tuning
	// Capacity configures managed scaling (capacity.go): the launcher that
	// starts capacity providers' and the Fargate pool's instances (none:
	// instances are started by hand), and the scaler's timings.
	Capacity capacity.Options
}

// Server is a running control plane.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store store.Store
	api   *ecsapi.API
	ssm   *ssmapi.API
	ln    net.Listener
	http  *http.Server
	gate  *auth.Gate
	audit *auditor
	// services is the service controller, run by the leader (ha.go); made
	// in New so extensions can observe it.
	services *servicectl.Controller
	// ha is who leads among replicated servers (ha.go).
	ha *ha
	// Set by extensions.
	query      []http.Handler
	background []func(context.Context)
	onShutdown []func()
	onCall     []func(context.Context, awsproto.Op, error, time.Duration)
}

// New opens the store under cfg.DataDir and binds the listener, so that the
// address is known (and taken) before Serve.
func New(cfg Config) (*Server, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "123456789012"
	}
	if err := validAccountID(cfg.AccountID); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.AgentTimeout <= 0 {
		cfg.AgentTimeout = time.Minute
	}
	if cfg.DataDir == "" {
		return nil, errors.New("a data directory is required (--data-dir)")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := openStore(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w (is another server running there? pick another --listen)", cfg.Listen, err)
	}
	fail := func(err error) (*Server, error) {
		ln.Close()
		st.Close()
		return nil, err
	}
	if cfg.Credentials == nil && !cfg.InsecureNoAuth && !isLoopback(ln.Addr()) {
		return fail(fmt.Errorf("refusing to serve %s without authentication: set WHARF_ACCESS_KEY_ID and WHARF_SECRET_ACCESS_KEY or --credentials-file (or listen on a loopback address)", ln.Addr()))
	}
	if cfg.MasterKeyFile == "" {
		cfg.MasterKeyFile = filepath.Join(cfg.DataDir, "master.key")
	}
	kr, err := keyring.LoadOrCreate(cfg.MasterKeyFile)
	if err != nil {
		return fail(err)
	}
	var tlsConfig *tls.Config
	switch {
	case (cfg.TLSCert == "") != (cfg.TLSKey == ""):
		return fail(errors.New("give both --tls-cert and --tls-key, or neither"))
	case cfg.TLSCert != "":
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fail(fmt.Errorf("load the TLS certificate and key: %w", err))
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s := &Server{cfg: cfg, log: cfg.Log, store: st, ln: ln}
	s.ssm = ssmapi.New(ssmapi.Config{
		Store:     st,
		Region:    cfg.Region,
		AccountID: cfg.AccountID,
		Keyring:   kr,
		Log:       cfg.Log.With("subsystem", "ssm"),
	})
	s.api = ecsapi.New(ecsapi.Config{
		Store:     st,
		Region:    cfg.Region,
		AccountID: cfg.AccountID,
		Log:       cfg.Log.With("subsystem", "ecs"),
		Keyring:   kr,
		Secrets:   s.ssm,

		MaxStopTimeout: cfg.MaxStopTimeout,
		AgentTimeout:   cfg.AgentTimeout,
	})
	if err := s.setupHA(); err != nil {
		return fail(err)
	}
	s.services = servicectl.New(servicectl.Config{
		Store:    s.ha.store,
		Launcher: s.api,
		Fence:    s.ha.fence,
		Tuning:   cfg.ServiceTuning,
		Log:      cfg.Log.With("controller", "service"),
	})
	mux := awsproto.NewMux(cfg.Log.With("subsystem", "api"))
	mux.Add(s.api.Service())
	mux.Add(s.api.AgentService())
	mux.Add(s.api.AdminService())
	mux.Add(s.ssm.Service())
	s.gate = s.newGate()
	mux.Before = s.gate.Before
	s.audit = newAuditor(cfg.AuditLog, cfg.Log.With("subsystem", "audit"))
	mux.After = func(ctx context.Context, op awsproto.Op, err error, took time.Duration) {
		s.audit.record(ctx, op, err, took)
		for _, fn := range s.onCall {
			fn(ctx, op, err, took)
		}
	}
	routes := s.routes(mux)
	x := &Setup{Server: s, Config: &s.cfg, Store: st, Keyring: kr, Mux: mux, Gate: s.gate, HTTP: routes}
	for _, e := range extensions {
		if err := e.setup(x); err != nil {
			return fail(fmt.Errorf("set up %s: %w", e.name, err))
		}
	}
	s.http = &http.Server{
		Handler:           routes,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	return s, nil
}

func validAccountID(id string) error {
	if len(id) != 12 {
		return fmt.Errorf("account ID %q must be 12 digits", id)
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return fmt.Errorf("account ID %q must be 12 digits", id)
		}
	}
	return nil
}

func (s *Server) routes(api http.Handler) *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.store.Revision(r.Context()); err != nil {
			http.Error(w, "store unavailable: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	m.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !awsproto.Matches(r) {
			for _, h := range s.query {
				if q, ok := h.(QueryHandler); !ok || q.Serves(r) {
					h.ServeHTTP(w, r)
					return
				}
			}
		}
		api.ServeHTTP(w, r)
	}))
	return m
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// newGate builds the request gate: who may call what.
func (s *Server) newGate() *auth.Gate {
	var creds auth.Credentials
	if s.cfg.Credentials != nil {
		creds = auth.Chain{s.cfg.Credentials, s.api.AgentCredentials()}
	}
	g := auth.NewGate(auth.GateConfig{
		Credentials: creds,
		Region:      s.cfg.Region,
		Limiter:     auth.NewLimiter(s.cfg.RateLimitScale),
	})
	g.Register(model.TargetPrefix, auth.Rules{
		SigningName:  "ecs",
		ActionPrefix: "ecs",
		Resources:    s.api.Resources,
		Agent:        s.api.AuthorizeAgent,
	})
	g.Register(agentproto.TargetPrefix, auth.Rules{
		SigningName:  "ecs",
		ActionPrefix: "wharf",
		Resources:    s.api.Resources,
		Agent:        s.api.AuthorizeAgent,
		Unlimited:    map[string]bool{agentproto.PollTasks: true},
	})
	g.Register(ssmapi.TargetPrefix, auth.Rules{
		SigningName:  "ssm",
		ActionPrefix: "ssm",
		Resources:    s.ssm.Resources,
	})
	g.Register(agentproto.AdminTargetPrefix, auth.Rules{
		SigningName:  "ecs",
		ActionPrefix: "wharf",
		Public:       map[string]bool{agentproto.JoinCluster: true},
		Resources:    s.api.AdminResources,
	})
	return g
}

// Close releases a server that was never Run: its listener and store.
func (s *Server) Close() error {
	s.ln.Close()
	return s.store.Close()
}

// AuthEnabled reports whether the server verifies signatures.
func (s *Server) AuthEnabled() bool { return s.gate.Enabled() }

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the endpoint clients use (--endpoint-url).
func (s *Server) URL() string {
	if s.cfg.TLSCert != "" {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// Store is the server's store (tests and the embedded agent read it).
func (s *Server) Store() store.Store { return s.store }

// API is the ECS API the server serves.
func (s *Server) API() *ecsapi.API { return s.api }

// ServiceController is the server's service controller.
func (s *Server) ServiceController() *servicectl.Controller { return s.services }

// Run serves until ctx ends, then shuts down gracefully: it stops accepting,
// lets requests in flight finish (each commit is durable when acknowledged),
// and closes the store.
func (s *Server) Run(ctx context.Context) error {
	bg, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	go s.api.Run(bg)
	// The controllers run on the leader only (ha.go).
	s.runHA(bg)
	for _, fn := range s.background {
		go fn(bg)
	}
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- s.http.ServeTLS(s.ln, "", "")
			return
		}
		errc <- s.http.Serve(s.ln)
	}()
	s.log.Info("server listening", "endpoint", s.URL(), "data_dir", s.cfg.DataDir, "region", s.cfg.Region,
		"authentication", s.gate.Enabled(), "rate_limit_scale", s.cfg.RateLimitScale)
	if !s.gate.Enabled() {
		s.log.Warn("authentication is off: anyone who can reach this address can run containers; set WHARF_ACCESS_KEY_ID and WHARF_SECRET_ACCESS_KEY or --credentials-file")
	}
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down")
		s.api.Shutdown()
		for _, fn := range s.onShutdown {
			fn()
		}
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = s.http.Shutdown(sctx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	stopBg()
	// The election gives its lease back through the store's connection.
	s.waitHA()
	if cerr := s.store.Close(); err == nil {
		err = cerr
	}
	return err
}
