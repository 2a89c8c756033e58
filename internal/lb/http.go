package lb

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
)

// httpListener is an application load balancer's listener: the standard
// library serves the clients' side (HTTP/1.1 and 1.0, keep-alive, limits),
// and requests go to the targets over pooled keep-alive connections that
// this file speaks HTTP/1.1 on directly, in the request's own goroutine.
type httpListener struct {
	port   string
	log    *slog.Logger
	routes atomic.Pointer[routes]
	idle   atomic.Int64 // the load balancer's idle timeout, nanoseconds
}

// maxAttempts bounds the targets one request is tried on when they refuse
// connections.
const maxAttempts = 3

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (h *httpListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rs := h.routes.Load()
	var act *action
	if rs != nil {
		act = rs.match(r.Host, r.URL.Path)
	}
	switch {
	case act == nil || act.missing && len(act.groups) == 0:
		errorPage(w, http.StatusServiceUnavailable)
		return
	case act.fixed != nil:
		fixedResponse(w, act.fixed)
		return
	}
	g := act.group()
	if g == nil {
		errorPage(w, http.StatusServiceUnavailable)
		return
	}
	var tried []*target
	for attempt := 0; attempt < maxAttempts; attempt++ {
		t := g.pick(tried)
		if t == nil {
			if len(tried) == 0 {
				errorPage(w, http.StatusServiceUnavailable)
			} else {
				errorPage(w, http.StatusBadGateway)
			}
			return
		}
		tried = append(tried, t)
		t.inflight.Add(1)
		retry := h.forward(w, r, t)
		t.inflight.Add(-1)
		if !retry {
			return
		}
	}
	errorPage(w, http.StatusBadGateway)
}

// replayable reports whether a request may be sent again after a failure
// that may have reached the target: it has no body and an idempotent method.
func replayable(r *http.Request) bool {
	if r.ContentLength != 0 {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// forward sends r to t and copies the answer to w. It returns true when
// nothing was answered and the request may go to another target.
func (h *httpListener) forward(w http.ResponseWriter, r *http.Request, t *target) bool {
	upgrade := isUpgrade(r)
	for {
		uc, reused, err := t.pool.get()
		if err != nil {
			// Nothing reached the target: any request may go elsewhere.
			t.markFailed(time.Now())
			h.log.Debug("target refused a connection", "target", t.addr, "err", err)
			return true
		}
		idle := time.Duration(h.idle.Load())
		_ = uc.nc.SetDeadline(time.Now().Add(idle))
		resp, err := h.exchange(uc, r, upgrade)
		if err != nil {
			uc.nc.Close()
			if reused && replayable(r) {
				// The target closed a pooled connection as we reused it.
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				errorPage(w, http.StatusGatewayTimeout)
				return false
			}
			if !reused {
				t.markFailed(time.Now())
			}
			if replayable(r) {
				return true
			}
			h.log.Debug("request to target failed", "target", t.addr, "err", err)
			errorPage(w, http.StatusBadGateway)
			return false
		}
		if resp.StatusCode == http.StatusSwitchingProtocols && upgrade {
			h.tunnel(w, resp, uc)
			return false
		}
		if h.copyResponse(w, resp, uc, idle) {
			_ = uc.nc.SetDeadline(time.Time{})
			t.pool.put(uc)
		} else {
			uc.nc.Close()
		}
		return false
	}
}

// exchange writes the request and reads the response's head.
func (h *httpListener) exchange(uc *upConn, r *http.Request, upgrade bool) (*http.Response, error) {
	if err := h.writeRequest(uc.bw, r, upgrade); err != nil {
		return nil, err
	}
	for {
		resp, err := http.ReadResponse(uc.br, r)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue // 100 Continue, 103 Early Hints: the final answer follows
		}
		return resp, nil
	}
}

// hopHeaders are the connection's own headers, not forwarded either way;
// requestOwn are those the proxy writes itself.
var (
	hopHeaders = map[string]bool{
		"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
		"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Content-Length": true,
	}
	requestOwn = map[string]bool{
		"Expect": true, "X-Forwarded-For": true, "X-Forwarded-Proto": true, "X-Forwarded-Port": true,
	}
)

func (h *httpListener) writeRequest(bw *bufio.Writer, r *http.Request, upgrade bool) error {
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' && uri != "*" {
		uri = r.URL.RequestURI() // absolute-form: send the origin form
	}
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(uri)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	named := connectionTokens(r.Header)
	for k, vs := range r.Header {
		if hopHeaders[k] || requestOwn[k] || named != nil && named[k] {
			continue
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	client, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		client = r.RemoteAddr
	}
	bw.WriteString("X-Forwarded-For: ")
	if prior := r.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		bw.WriteString(strings.Join(prior, ", "))
		bw.WriteString(", ")
	}
	bw.WriteString(client)
	bw.WriteString("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ")
	bw.WriteString(h.port)
	bw.WriteString("\r\n")
	if upgrade {
		bw.WriteString("Connection: Upgrade\r\nUpgrade: ")
		bw.WriteString(r.Header.Get("Upgrade"))
		bw.WriteString("\r\n")
	}
	switch {
	case r.ContentLength > 0:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(r.ContentLength, 10))
		bw.WriteString("\r\n\r\n")
		if _, err := io.CopyN(bw, r.Body, r.ContentLength); err != nil {
			return err
		}
	case r.ContentLength < 0:
		bw.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		cw := httputil.NewChunkedWriter(bw)
		if _, err := io.Copy(cw, r.Body); err != nil {
			return err
		}
		if err := cw.Close(); err != nil {
			return err
		}
		bw.WriteString("\r\n")
	default:
		if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
			bw.WriteString("Content-Length: 0\r\n")
		}
		bw.WriteString("\r\n")
	}
	return bw.Flush()
}

// connectionTokens are the header names the Connection header lists (they
// are hop-by-hop too); nil when there are none.
func connectionTokens(hd http.Header) map[string]bool {
	vs := hd["Connection"]
	if len(vs) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, v := range vs {
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				out[http.CanonicalHeaderKey(tok)] = true
			}
		}
	}
	return out
}

func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") == "" {
		return false
	}
	for _, v := range r.Header["Connection"] {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// copyResponse writes the target's answer to the client and reports whether
// the connection to the target may be reused.
func (h *httpListener) copyResponse(w http.ResponseWriter, resp *http.Response, uc *upConn, idle time.Duration) bool {
	dst := w.Header()
	named := connectionTokens(resp.Header)
	for k, vs := range resp.Header {
		if hopHeaders[k] || named != nil && named[k] {
			continue
		}
		dst[k] = vs
	}
	if resp.ContentLength >= 0 {
		dst["Content-Length"] = []string{strconv.FormatInt(resp.ContentLength, 10)}
	}
	w.WriteHeader(resp.StatusCode)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	streaming := resp.ContentLength < 0
	rc := http.NewResponseController(w)
	refreshed := time.Now()
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return false
			}
			if streaming {
				_ = rc.Flush()
			}
		}
		if err == io.EOF {
			resp.Body.Close()
			return !resp.Close
		}
		if err != nil {
			return false
		}
		// A long body keeps its connection alive as long as it moves.
		if now := time.Now(); now.Sub(refreshed) > time.Second {
			refreshed = now
			_ = uc.nc.SetDeadline(now.Add(idle))
		}
	}
}

// tunnel joins the client and the target after a protocol upgrade
// (WebSocket), until either side closes.
func (h *httpListener) tunnel(w http.ResponseWriter, resp *http.Response, uc *upConn) {
	defer uc.nc.Close()
	cc, crw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		errorPage(w, http.StatusBadGateway)
		return
	}
	defer cc.Close()
	_ = uc.nc.SetDeadline(time.Time{})
	_ = cc.SetDeadline(time.Time{})
	if err := resp.Write(crw); err != nil { // the 101 with its headers
		return
	}
	if err := crw.Flush(); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(uc.nc, crw.Reader)
		closeWrite(uc.nc)
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(cc, uc.br)
		closeWrite(cc)
		done <- struct{}{}
	}()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	c.Close()
}

// errorPage answers as ELB does when it cannot: 502, 503 or 504.
func errorPage(w http.ResponseWriter, code int) {
	text := strconv.Itoa(code) + " " + http.StatusText(code)
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Server", "wharf-lb")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, "<html>\r\n<head><title>"+text+"</title></head>\r\n<body>\r\n<center><h1>"+text+"</h1></center>\r\n</body>\r\n</html>\r\n")
}

// fixedResponse answers a fixed-response action.
func fixedResponse(w http.ResponseWriter, fr *state.FixedResponse) {
	code, err := strconv.Atoi(fr.StatusCode)
	if err != nil {
		code = http.StatusServiceUnavailable
	}
	if fr.ContentType != "" {
		w.Header().Set("Content-Type", fr.ContentType)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(fr.MessageBody)))
	w.WriteHeader(code)
	_, _ = io.WriteString(w, fr.MessageBody)
}
