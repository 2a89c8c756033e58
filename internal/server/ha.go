package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/controller/liveness"
	"github.com/wharf-ecs/wharf/internal/controller/retention"
	"github.com/wharf-ecs/wharf/internal/heartbeat"
	"github.com/wharf-ecs/wharf/internal/leader"
	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
	"github.com/wharf-ecs/wharf/internal/store/etcd"
)

// EtcdConfig puts the state in etcd instead of the embedded bbolt file, so
// that several servers share it (docs/ha.md). Every server serves the API;
// one, elected through an etcd lease, runs the controllers.
type EtcdConfig struct {
	// Endpoints are the etcd members' client URLs; none means bbolt.
	Endpoints []string
	// Prefix is prepended to every etcd key; default "/wharf/".
	Prefix string
	// CAFile verifies the members' certificates; CertFile and KeyFile are
	// this server's client certificate, when etcd asks for one.
	CAFile, CertFile, KeyFile string
	// LeaseTTL is the leader lease; zero means leader.DefaultTTL. A leader
	// that dies is replaced about this long after.
	LeaseTTL time.Duration
}

// ha is how a server shares its work with the other replicas: who leads,
// the store the leader's loops write through, and the agents' polls.
type ha struct {
	name    string
	elector leader.Elector
	// store is the leader-only loops' store: fenced on etcd, so that a
	// server that lost its lease cannot write as a leader.
	store      store.Store
	fence      func() (store.Cond, error) // the fence's condition, nil on bbolt
	heartbeats liveness.Heartbeats
	shared     *heartbeat.Shared // nil on bbolt
	leading    func() bool
	// background are the extensions' leader-only loops.
	background []func(context.Context)
	wg         sync.WaitGroup
}

// openStore opens etcd when configured, else bbolt under the data dir.
func openStore(cfg Config) (store.Store, error) {
	e := cfg.Etcd
	if len(e.Endpoints) == 0 {
		st, err := bolt.Open(filepath.Join(cfg.DataDir, "wharf.db"), bolt.Options{Logger: cfg.Log.With("subsystem", "store")})
		if err != nil {
			return nil, fmt.Errorf("open store in %s: %w", cfg.DataDir, err)
		}
		return st, nil
	}
	tlsConfig, err := etcdTLS(e)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	st, err := etcd.Open(ctx, etcd.Options{
		Endpoints: e.Endpoints,
		Prefix:    e.Prefix,
		TLS:       tlsConfig,
		Logger:    cfg.Log.With("subsystem", "store"),
	})
	if err != nil {
		return nil, fmt.Errorf("open the etcd store (--etcd-endpoints): %w", err)
	}
	return st, nil
}

// etcdTLS builds the client TLS configuration from the files, or returns
// nil when none is given (plain http endpoints).
func etcdTLS(e EtcdConfig) (*tls.Config, error) {
	if e.CAFile == "" && e.CertFile == "" && e.KeyFile == "" {
		for _, ep := range e.Endpoints {
			if strings.HasPrefix(ep, "https://") {
				return &tls.Config{MinVersion: tls.VersionTLS12}, nil
			}
		}
		return nil, nil
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		return nil, errors.New("give both --etcd-cert-file and --etcd-key-file, or neither")
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read --etcd-ca-file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--etcd-ca-file %s holds no PEM certificate", e.CAFile)
		}
	}
	if e.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load --etcd-cert-file and --etcd-key-file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// setupHA decides how this server leads: always, alone on bbolt; through
// an etcd election otherwise.
func (s *Server) setupHA() error {
	h := &ha{store: s.store, heartbeats: s.api, leading: func() bool { return true }, elector: leader.Always{}}
	s.ha = h
	es, ok := s.store.(*etcd.Store)
	if !ok {
		return nil
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "wharf"
	}
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	h.name = host + ":" + port
	el, err := leader.NewEtcd(leader.Config{
		Client:    es.Client(),
		Namespace: es.KeyPrefix(),
		Name:      h.name,
		TTL:       s.cfg.Etcd.LeaseTTL,
		Log:       s.log.With("subsystem", "leader"),
	})
	if err != nil {
		return err
	}
	h.elector, h.leading = el, el.Leading
	h.store = el.Fence().Store(s.store)
	h.fence = el.Fence().Cond
	h.shared = heartbeat.New(heartbeat.Config{
		Store:  s.store,
		Local:  s.api,
		Server: h.name,
		Every:  s.cfg.AgentTimeout / 12,
		Log:    s.log.With("subsystem", "heartbeat"),
	})
	h.heartbeats = h.shared
	return nil
}

// runHA starts the replica's shared loops and the election; the leader's
// loops run whenever this server leads. waitHA waits for all of it.
func (s *Server) runHA(ctx context.Context) {
	h := s.ha
	if h.shared != nil {
		h.wg.Add(1)
		go func() { defer h.wg.Done(); h.shared.Run(ctx) }()
	}
	h.wg.Add(1)
	go func() { defer h.wg.Done(); h.elector.Run(ctx, s.lead) }()
}

func (s *Server) waitHA() { s.ha.wg.Wait() }

// lead runs the single-writer loops until ctx ends (leadership lost or
// shutdown), and returns when they all have.
func (s *Server) lead(ctx context.Context) {
	var wg sync.WaitGroup
	run := func(fn func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); fn(ctx) }()
	}
	run(liveness.New(liveness.Config{
		Store:      s.ha.store,
		Heartbeats: s.ha.heartbeats,
		Timeout:    s.cfg.AgentTimeout,
		Log:        s.log.With("controller", "liveness"),
	}).Run)
	run(s.services.Run)
	run(retention.New(retention.Config{
		Store:    s.ha.store,
		Tasks:    s.cfg.StoppedTaskRetention,
		Services: s.cfg.StoppedTaskRetention,
		Log:      s.log.With("controller", "retention"),
	}).Run)
	for _, fn := range s.ha.background {
		run(fn)
	}
	wg.Wait()
}

// LeaderStore is the store for writes only the leader may make: on etcd
// its commits fail once this server no longer leads.
func (x *Setup) LeaderStore() store.Store { return x.Server.ha.store }

// LeaderBackground runs fn whenever this server leads, with a context that
// ends when leadership is lost: for loops that must have a single writer
// among replicated servers (controllers, health checkers). A server alone
// always leads.
func (x *Setup) LeaderBackground(fn func(ctx context.Context)) {
	x.Server.ha.background = append(x.Server.ha.background, fn)
}

func init() {
	register("ha", func(x *Setup) error {
		// GET /leader says which server leads, for operators and scripts.
		x.HTTP.HandleFunc("GET /leader", func(w http.ResponseWriter, r *http.Request) {
			out := struct {
				Server  string `json:"server,omitempty"`
				Leading bool   `json:"leading"`
				Leader  string `json:"leader,omitempty"`
			}{Server: x.Server.ha.name, Leading: x.Server.ha.leading()}
			if es, ok := x.Store.(*etcd.Store); ok {
				cur, err := leader.Current(r.Context(), es.Client(), es.KeyPrefix())
				if err != nil {
					http.Error(w, "etcd unavailable: "+err.Error(), http.StatusServiceUnavailable)
					return
				}
				out.Leader = cur
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(out)
		})
		return nil
	})
}
