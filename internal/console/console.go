// Package console is Wharf's web console, served by the server under
// /console: server-rendered pages of clusters, instances, services, tasks,
// task definitions, logs and events, with a little plain JavaScript that
// swaps in fresh HTML pushed over server-sent events.
//
// A person signs in with an access key pair; every page and action is made
// of the same AWS JSON calls the CLI would make, signed with that key and
// served in process by the server's API handler (call.go), so the user's
// policies, the rate limits and the audit log apply unchanged.
package console

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/awsproto"
)

// Prefix is the path the console is served under.
const Prefix = "/console"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures a console.
type Config struct {
	// API serves AWS JSON requests exactly as the server does for
	// clients: behind the request gate.
	API http.Handler
	// Events, when set, serves the server's GET /events stream (the
	// server's HTTP routes); pages then update when an event arrives.
	Events http.Handler
	// Credentials are the users' access keys (not the agents'); nil means
	// authentication is off and the console is open as the anonymous
	// principal.
	Credentials auth.Credentials
	Region      string
	// Secure marks cookies Secure (the server serves HTTPS).
	Secure bool
	// LiveInterval is how often a page's live part is refreshed when no
	// event stream tells when; default two seconds.
	LiveInterval time.Duration
	Log          *slog.Logger
	Now          func() time.Time // nil: time.Now
}

// Console serves the web console.
type Console struct {
	api      http.Handler
	events   http.Handler
	creds    auth.Credentials
	region   string
	secure   bool
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time
	pages    map[string]*pageTemplate
	sessions *sessions
	limiter  *signinLimiter
	mux      *http.ServeMux

	closeOnce sync.Once
	closed    chan struct{} // ends live streams at shutdown
}

// New returns a console.
func New(cfg Config) (*Console, error) {
	if cfg.API == nil {
		return nil, errors.New("console: an API handler is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LiveInterval <= 0 {
		cfg.LiveInterval = 2 * time.Second
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	c := &Console{api: cfg.API, events: cfg.Events, creds: cfg.Credentials, region: cfg.Region, secure: cfg.Secure,
		interval: cfg.LiveInterval, log: cfg.Log, now: cfg.Now, pages: pages,
		sessions: newSessions(cfg.Now), limiter: newSigninLimiter(cfg.Now), closed: make(chan struct{})}
	c.routes()
	return c, nil
}

// Close ends the live streams (the server is shutting down).
func (c *Console) Close() { c.closeOnce.Do(func() { close(c.closed) }) }

// ServeHTTP serves every path under Prefix.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix(Prefix+"/static/", http.FileServerFS(static))
	m.Handle("GET "+Prefix+"/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
	m.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+Prefix+"/signin", c.signinForm)
	m.HandleFunc("POST "+Prefix+"/signin", c.signin)
	m.HandleFunc("POST "+Prefix+"/signout", c.signout)

	get := func(pattern, tmpl string, load loader, follow bool) {
		m.Handle("GET "+Prefix+pattern, c.page(tmpl, load, follow))
	}
	// Pages of ECS resources follow the event stream; a log tail, whose
	// lines make no ECS events, is re-read every LiveInterval.
	get("/{$}", "clusters", loadClusters, true)
	get("/clusters/{cluster}", "cluster", loadCluster, true)
	get("/clusters/{cluster}/services/{service}", "service", loadService, true)
	get("/clusters/{cluster}/tasks", "tasks", loadTasks, true)
	get("/clusters/{cluster}/tasks/{task}", "task", loadTask, true)
	get("/clusters/{cluster}/tasks/{task}/logs", "logs", loadLogs, false)
	get("/clusters/{cluster}/tasks/{task}/placement", "placement", loadPlacement, true)
	get("/clusters/{cluster}/instances/{instance}", "instance", loadInstance, true)
	get("/clusters/{cluster}/events", "events", loadEvents, true)
	get("/taskdefs", "families", loadFamilies, false)
	get("/taskdefs/{family}", "family", loadFamily, false)
	get("/taskdefs/{family}/{revision}", "taskdef", loadTaskDef, false)

	for pattern, a := range actions {
		m.Handle("POST "+Prefix+pattern, c.action(a))
	}
	m.Handle(Prefix+"/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq, ok := c.begin(w, r)
		if !ok {
			return
		}
		status := http.StatusNotFound
		msg := "There is no console page at " + r.URL.Path + "."
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			status = http.StatusMethodNotAllowed
			msg = "The console does not answer " + r.Method + " at " + r.URL.Path + "."
		}
		rq.fail(&awsproto.Error{Code: "NotFound", Message: msg, Status: status})
	}))
	c.mux = m
}

// rq is one console request by a signed-in (or anonymous) user.
type rq struct {
	c    *Console
	w    http.ResponseWriter
	r    *http.Request
	ss   *session
	api  caller
	live bool // rendering a live update, not a page
}

// begin finds the request's session. Without one it sends the browser to
// sign in (or, with authentication off, starts an anonymous session) and
// returns false when the request has been answered.
func (c *Console) begin(w http.ResponseWriter, r *http.Request) (*rq, bool) {
	var ss *session
	if ck, err := r.Cookie(sessionCookie); err == nil {
		ss = c.sessions.get(ck.Value)
	}
	if ss == nil && c.creds == nil {
		ss = c.sessions.create("", "anonymous", "anonymous")
		http.SetCookie(w, c.cookie(r, sessionCookie, ss.id, 0))
	}
	if ss == nil {
		if isStream(r) {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return nil, false
		}
		target := Prefix + "/signin"
		if r.Method == http.MethodGet && r.URL.Path != Prefix+"/" {
			target += "?next=" + urlQueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil, false
	}
	return &rq{c: c, w: w, r: r, ss: ss, api: caller{c: c, ctx: r.Context(), from: r, key: ss.key}}, true
}

// checkPost refuses a POST that does not carry the session's form token or
// that comes from another origin.
func (q *rq) checkPost() bool {
	if !sameOrigin(q.r) {
		q.fail(&awsproto.Error{Code: "Forbidden", Status: http.StatusForbidden,
			Message: "The form was sent from another site; the console accepts forms from its own pages only."})
		return false
	}
	if !sameToken(q.r.PostFormValue("csrf"), q.ss.csrf) {
		q.fail(&awsproto.Error{Code: "Forbidden", Status: http.StatusForbidden,
			Message: "The form's security token is missing or stale (the page may be from an earlier session). Reload the page and try again."})
		return false
	}
	return true
}

// sameOrigin reports whether a browser's Origin header, when it sent one,
// names this server.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	_, host, ok := strings.Cut(o, "://")
	return ok && host == r.Host
}

// fail answers with an error page: the API's code and message, with a status
// a browser understands.
func (q *rq) fail(err error) {
	if errors.Is(err, context.Canceled) && q.r.Context().Err() != nil {
		return // the browser went away
	}
	e := asError(err)
	if e.Code == codeInternal {
		q.c.log.Error("console request failed", "path", q.r.URL.Path, "err", err)
	}
	q.render(httpStatus(e), "error", "Error", nil, e)
}

const codeInternal = "InternalError"

// asError is err as the API error it carries, or an internal error whose
// details stay in the server log.
func asError(err error) *awsproto.Error {
	if e, ok := awsproto.AsError(err); ok {
		return e
	}
	return &awsproto.Error{Code: codeInternal, Message: "The console could not build this page; the server log has the details.", Status: http.StatusInternalServerError}
}

// httpStatus is the status of a page that shows API error e.
func httpStatus(e *awsproto.Error) int {
	switch {
	case e.Code == auth.CodeAccessDenied:
		return http.StatusForbidden
	case strings.HasSuffix(e.Code, "NotFoundException") || e.Code == "ResourceNotFoundException":
		return http.StatusNotFound
	case e.Code == "ThrottlingException":
		return http.StatusTooManyRequests
	case e.Status == 0:
		return http.StatusBadRequest
	}
	return e.Status
}

func isStream(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}
