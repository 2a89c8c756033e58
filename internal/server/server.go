// Package server is Wharf's composition root: it opens the store, builds the
// APIs and controllers, and serves them over HTTP.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/controller/liveness"
	"github.com/wharf-ecs/wharf/internal/controller/retention"
	servicectl "github.com/wharf-ecs/wharf/internal/controller/service"
	"github.com/wharf-ecs/wharf/internal/ecsapi"
	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
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
}

// Server is a running control plane.
type Server struct {
	cfg   Config
	log   *slog.Logger
	store store.Store
	api   *ecsapi.API
	ln    net.Listener
	http  *http.Server
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
	st, err := bolt.Open(filepath.Join(cfg.DataDir, "wharf.db"), bolt.Options{Logger: cfg.Log.With("subsystem", "store")})
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", cfg.DataDir, err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w (is another server running there? pick another --listen)", cfg.Listen, err)
	}
	s := &Server{cfg: cfg, log: cfg.Log, store: st, ln: ln}
	s.api = ecsapi.New(ecsapi.Config{
		Store:     st,
		Region:    cfg.Region,
		AccountID: cfg.AccountID,
		Log:       cfg.Log.With("subsystem", "ecs"),
	})
	mux := awsproto.NewMux(cfg.Log.With("subsystem", "api"))
	mux.Add(s.api.Service())
	mux.Add(s.api.AgentService())
	s.http = &http.Server{
		Handler:           s.routes(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn),
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

func (s *Server) routes(api http.Handler) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.store.Revision(r.Context()); err != nil {
			http.Error(w, "store unavailable: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	m.Handle("/", api)
	return m
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the endpoint clients use (--endpoint-url).
func (s *Server) URL() string { return "http://" + s.Addr() }

// Store is the server's store (tests and the embedded agent read it).
func (s *Server) Store() store.Store { return s.store }

// API is the ECS API the server serves.
func (s *Server) API() *ecsapi.API { return s.api }

// Run serves until ctx ends, then shuts down gracefully: it stops accepting,
// lets requests in flight finish (each commit is durable when acknowledged),
// and closes the store.
func (s *Server) Run(ctx context.Context) error {
	bg, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	go s.api.Run(bg)
	go liveness.New(liveness.Config{
		Store:      s.store,
		Heartbeats: s.api,
		Timeout:    s.cfg.AgentTimeout,
		Log:        s.log.With("controller", "liveness"),
	}).Run(bg)
	// One service controller per server: leader election, for replicated
	// servers, arrives with the etcd store.
	go servicectl.New(servicectl.Config{
		Store:    s.store,
		Launcher: s.api,
		Tuning:   s.cfg.ServiceTuning,
		Log:      s.log.With("controller", "service"),
	}).Run(bg)
	go retention.New(retention.Config{
		Store:    s.store,
		Tasks:    s.cfg.StoppedTaskRetention,
		Services: s.cfg.StoppedTaskRetention,
		Log:      s.log.With("controller", "retention"),
	}).Run(bg)
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	s.log.Info("server listening", "endpoint", s.URL(), "data_dir", s.cfg.DataDir, "region", s.cfg.Region)
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down")
		s.api.Shutdown()
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = s.http.Shutdown(sctx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	stopBg()
	if cerr := s.store.Close(); err == nil {
		err = cerr
	}
	return err
}
