package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// A page is a loader, which gathers what the page shows through API calls,
// and a template of the same name. A template that defines "live" has a part
// that the browser keeps current: the page's own URL, asked for as an event
// stream, re-runs the loader and sends that part's HTML again whenever it
// changed. It re-runs when an ECS event of the page's cluster arrives (with
// a slow timer besides, for what makes no event), or every LiveInterval
// when the user may not read the events or the page follows none.

// loader gathers a page's view: its title and what its template shows.
type loader func(q *rq) (title string, data any, err error)

// pageTemplate is a page's template set (the layout, shared parts and the
// page's own) and whether it has a live part.
type pageTemplate struct {
	t    *template.Template
	live bool
}

// layout is what every page's template gets.
type layout struct {
	Title  string
	User   string
	Kind   string
	CSRF   string
	Auth   bool // signed in with a key (a sign-out button makes sense)
	Flash  *flash
	Live   bool
	Prefix string
	Data   any
}

func parseTemplates() (map[string]*pageTemplate, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*pageTemplate{}
	for _, file := range names {
		name := strings.TrimSuffix(path.Base(file), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, file)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		pages[name] = &pageTemplate{t: t, live: t.Lookup("live") != nil}
	}
	return pages, nil
}

// page serves a GET page, or its live stream; follow says whether ECS events
// tell when the page changes.
func (c *Console) page(tmpl string, load loader, follow bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, ok := c.begin(w, r)
		if !ok {
			return
		}
		if isStream(r) {
			q.stream(tmpl, load, follow)
			return
		}
		title, data, err := load(q)
		if err != nil {
			q.fail(err)
			return
		}
		q.render(http.StatusOK, tmpl, title, q.c.sessions.takeFlash(q.ss), data)
	})
}

// render writes a whole page.
func (q *rq) render(status int, tmpl, title string, f *flash, data any) {
	pt := q.c.pages[tmpl]
	var buf bytes.Buffer
	err := pt.t.ExecuteTemplate(&buf, "layout.html", q.layout(title, f, data, pt.live))
	if err != nil {
		q.c.log.Error("console template failed", "template", tmpl, "err", err)
		http.Error(q.w, "The console could not draw this page; the server log has the details.", http.StatusInternalServerError)
		return
	}
	h := q.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept")
	q.w.WriteHeader(status)
	_, _ = q.w.Write(buf.Bytes())
}

func (q *rq) layout(title string, f *flash, data any, live bool) layout {
	l := layout{Title: title, Flash: f, Live: live, Prefix: Prefix, Data: data}
	if q.ss != nil {
		l.User, l.Kind, l.CSRF, l.Auth = q.ss.user, q.ss.kind, q.ss.csrf, q.ss.key != ""
	}
	return l
}

// Timings of a live stream that follows events: after an event, wait
// settle for the ones that come with it; re-read every followedRefresh
// anyway; send a comment when idle for keepAlive.
const (
	settle          = 250 * time.Millisecond
	followedRefresh = 15 * time.Second
	keepAlive       = 15 * time.Second
)

// stream sends the page's live part as server-sent events until the browser
// goes away, the session ends or the server shuts down.
func (q *rq) stream(tmpl string, load loader, follow bool) {
	pt := q.c.pages[tmpl]
	if !pt.live {
		http.Error(q.w, "This page has no live updates.", http.StatusNotAcceptable)
		return
	}
	fl, ok := q.w.(http.Flusher)
	if !ok {
		http.Error(q.w, "Streaming is not supported on this connection.", http.StatusNotAcceptable)
		return
	}
	// Events tell when to look again, if the user may read them.
	var events <-chan []byte
	every := q.c.interval
	if follow {
		if sub, err := q.api.subscribe(q.r.PathValue("cluster"), ""); err == nil {
			defer sub.close()
			events, every = sub.chunks, followedRefresh
		}
	}
	h := q.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	q.w.WriteHeader(http.StatusOK)
	// Retry after a dropped connection in a few seconds rather than the
	// browser's default.
	fmt.Fprint(q.w, "retry: 3000\n\n")
	fl.Flush()
	q.live = true
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last []byte
	wrote := time.Now()
	for {
		if !q.c.sessions.alive(q.ss.id) {
			fmt.Fprint(q.w, "event: signedout\ndata: \n\n")
			fl.Flush()
			return
		}
		if part := q.livePart(pt, load); !bytes.Equal(part, last) {
			writeEvent(q.w, "update", part)
			last, wrote = part, time.Now()
			fl.Flush()
		} else if time.Since(wrote) >= keepAlive {
			fmt.Fprint(q.w, ": keep-alive\n\n") // through proxies that drop idle connections
			wrote = time.Now()
			fl.Flush()
		}
		if !q.wait(tick, &events, every) {
			return
		}
	}
}

// wait returns when the page should be read again: at the next tick, or
// shortly after an event. When the event stream ends it falls back to
// reading every LiveInterval. It returns false when the stream must end.
func (q *rq) wait(tick *time.Ticker, events *<-chan []byte, every time.Duration) bool {
	ctx := q.r.Context()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-q.c.closed:
			return false
		case <-tick.C:
			return true
		case chunk, ok := <-*events:
			if !ok {
				*events = nil
				tick.Reset(q.c.interval)
				return true
			}
			if !hasEvents(chunk) {
				continue
			}
			select {
			case <-ctx.Done():
				return false
			case <-time.After(settle):
			}
			// Take what came meanwhile; the read covers it.
			for len(*events) > 0 {
				<-*events
			}
			tick.Reset(every)
			return true
		}
	}
}

// livePart renders the live part of a page, or the error that replaced it.
func (q *rq) livePart(pt *pageTemplate, load loader) []byte {
	var buf bytes.Buffer
	title, data, err := load(q)
	if err == nil {
		err = pt.t.ExecuteTemplate(&buf, "live", q.layout(title, nil, data, true))
	}
	if err != nil {
		buf.Reset()
		e := asError(err)
		if e.Code == codeInternal {
			q.c.log.Error("console live update failed", "path", q.r.URL.Path, "err", err)
		}
		_ = pt.t.ExecuteTemplate(&buf, "problem", e)
	}
	return buf.Bytes()
}

// writeEvent writes one server-sent event; each line of data goes on its own
// data: line, which the browser joins with newlines again.
func writeEvent(w http.ResponseWriter, name string, data []byte) {
	var b bytes.Buffer
	b.WriteString("event: " + name + "\n")
	for _, line := range bytes.Split(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(bytes.TrimRight(line, "\r"))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	_, _ = w.Write(b.Bytes())
}
