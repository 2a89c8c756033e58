package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// app holds the little state the HTTP endpoints share.
type app struct {
	cfg       config
	started   time.Time
	unhealthy atomic.Bool
	// exitRequests carries exit codes asked for over HTTP to the main loop,
	// which owns the process lifetime.
	exitRequests chan int
}

func newApp(cfg config) *app {
	a := &app{cfg: cfg, started: time.Now(), exitRequests: make(chan int, 1)}
	a.unhealthy.Store(cfg.unhealthy)
	return a
}

// routes accepts any method on the control endpoints (/fail, /recover,
// /exit/, /burn) so that busybox wget, which can only GET, can drive them too.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", a.index)
	mux.HandleFunc("/health", a.health)
	mux.HandleFunc("/fail", a.setHealth(true))
	mux.HandleFunc("/recover", a.setHealth(false))
	mux.HandleFunc("/env/{name}", a.env)
	mux.HandleFunc("/exit/{code}", a.exit)
	mux.HandleFunc("/burn", a.burnFor)
	return mux
}

func (a *app) index(w http.ResponseWriter, r *http.Request) {
	host, _ := os.Hostname()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "hostname: %s\npid: %d\nport: %d\nuptime: %s\nhealthy: %t\n",
		host, os.Getpid(), a.cfg.port, time.Since(a.started).Round(time.Second), !a.unhealthy.Load())
}

func (a *app) health(w http.ResponseWriter, r *http.Request) {
	if a.unhealthy.Load() {
		http.Error(w, "unhealthy", http.StatusInternalServerError)
		return
	}
	fmt.Fprint(w, "ok")
}

func (a *app) setHealth(unhealthy bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.unhealthy.Store(unhealthy)
		fmt.Fprintf(w, "healthy: %t\n", !unhealthy)
	}
}

func (a *app) env(w http.ResponseWriter, r *http.Request) {
	v, ok := os.LookupEnv(r.PathValue("name"))
	if !ok {
		http.Error(w, "not set", http.StatusNotFound)
		return
	}
	fmt.Fprint(w, v)
}

func (a *app) exit(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.PathValue("code"))
	if err != nil || code < 0 || code > 255 {
		http.Error(w, "exit code must be 0-255", http.StatusBadRequest)
		return
	}
	select {
	case a.exitRequests <- code:
		fmt.Fprintf(w, "exiting with code %d\n", code)
	default:
		http.Error(w, "already exiting", http.StatusConflict)
	}
}
