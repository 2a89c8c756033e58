package lb

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// httpListener is an application load balancer's listener. It speaks
// HTTP/1.1 (and 1.0) to clients and to targets itself: one goroutine per
// client connection reads a request, writes it to a pooled keep-alive
// connection to the chosen target, and copies the answer back, with no
// other goroutine, channel or per-request allocation on the way. That is
// what lets it keep up with nginx (BENCHMARKS.md).
type httpListener struct {
	ln     net.Listener
	port   string
	log    *slog.Logger
	routes atomic.Pointer[routes]
	idle   atomic.Int64 // the load balancer's idle timeout, nanoseconds

	closing atomic.Bool
	mu      sync.Mutex
	conns   map[*clientConn]struct{}
	wg      sync.WaitGroup
}

// clientConn is one client connection with its buffers and the heads of the
// exchange in progress.
type clientConn struct {
	c        net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	req      head
	resp     head
	clientIP string
	idle     atomic.Bool // waiting for the next request
	// deadlineSet is when the connection's deadline was last moved: it is
	// moved at most once a second, not for every request.
	deadlineSet time.Time
}

// refreshDeadline moves c's deadline to idle from now, unless it was moved
// within the last second.
func refreshDeadline(c net.Conn, set *time.Time, idle time.Duration) {
	now := time.Now()
	if now.Sub(*set) < time.Second {
		return
	}
	*set = now
	_ = c.SetDeadline(now.Add(idle))
}

// maxAttempts bounds the targets one request is tried on when they refuse
// connections.
const maxAttempts = 3

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func newHTTPListener(ln net.Listener, port string, log *slog.Logger) *httpListener {
	return &httpListener{ln: ln, port: port, log: log, conns: map[*clientConn]struct{}{}}
}

func (l *httpListener) idleTimeout() time.Duration {
	if d := time.Duration(l.idle.Load()); d > 0 {
		return d
	}
	return time.Minute
}

func (l *httpListener) serve() {
	acceptLoop(l.ln, l.log, func(c net.Conn) {
		cc := &clientConn{c: c, br: bufio.NewReaderSize(c, 4<<10), bw: bufio.NewWriterSize(c, 4<<10)}
		if host, _, err := net.SplitHostPort(c.RemoteAddr().String()); err == nil {
			cc.clientIP = host
		}
		l.mu.Lock()
		l.conns[cc] = struct{}{}
		l.mu.Unlock()
		l.wg.Add(1)
		go l.handle(cc)
	})
}

// shutdown stops accepting, closes idle connections, and waits for the
// requests in flight until ctx ends, when it closes the rest.
func (l *httpListener) shutdown(ctx context.Context) {
	l.closing.Store(true)
	l.ln.Close()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		l.mu.Lock()
		for cc := range l.conns {
			if cc.idle.Load() || ctx.Err() != nil {
				cc.c.Close()
			}
		}
		l.mu.Unlock()
		select {
		case <-done:
			return
		case <-tick.C:
		case <-ctx.Done():
		}
	}
}

func (l *httpListener) handle(cc *clientConn) {
	defer func() {
		cc.c.Close()
		l.mu.Lock()
		delete(l.conns, cc)
		l.mu.Unlock()
		l.wg.Done()
	}()
	for {
		cc.idle.Store(true)
		if l.closing.Load() {
			return
		}
		refreshDeadline(cc.c, &cc.deadlineSet, l.idleTimeout())
		err := cc.req.readRequest(cc.br)
		cc.idle.Store(false)
		if err != nil {
			var he *headError
			if errors.As(err, &he) {
				l.answer(cc, he.status, false)
			}
			return
		}
		if !l.serveRequest(cc) {
			return
		}
	}
}

// serveRequest answers one request and reports whether the connection
// stays open for the next.
func (l *httpListener) serveRequest(cc *clientConn) bool {
	req := &cc.req
	keep := !req.closeConn && (!req.http10 || req.keepAlive)
	bodyPending := req.contentLen > 0 || req.chunked
	host, path := routingTarget(req)
	var act *action
	if rs := l.routes.Load(); rs != nil {
		act = rs.match(host, path)
	}
	switch {
	case act == nil || act.missing && len(act.groups) == 0:
		return l.answer(cc, http.StatusServiceUnavailable, keep && !bodyPending)
	case act.fixed != nil:
		return l.fixed(cc, act, keep && !bodyPending)
	}
	g := act.group()
	if g == nil {
		return l.answer(cc, http.StatusServiceUnavailable, keep && !bodyPending)
	}
	var tried []*target
	for attempt := 0; attempt < maxAttempts; attempt++ {
		t := g.pick(tried)
		if t == nil {
			code := http.StatusServiceUnavailable
			if len(tried) > 0 {
				code = http.StatusBadGateway
			}
			return l.answer(cc, code, keep && !bodyPending)
		}
		tried = append(tried, t)
		t.inflight.Add(1)
		retry, kept := l.forward(cc, t, keep)
		t.inflight.Add(-1)
		if !retry {
			return kept
		}
	}
	return l.answer(cc, http.StatusBadGateway, keep && !bodyPending)
}

// routingTarget is the host and the decoded path rules match on.
func routingTarget(req *head) (host, path string) {
	if !req.host.empty() {
		host = req.str(req.host)
	}
	target := req.bytes(req.first[1])
	switch {
	case len(target) > 0 && target[0] == '/':
	case string(target) == "*":
		return host, "*"
	default: // absolute-form: the authority is the host
		u, err := url.Parse(string(target))
		if err != nil {
			return host, "/"
		}
		return u.Host, u.Path
	}
	p := string(target)
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if strings.IndexByte(p, '%') >= 0 {
		if dec, err := url.PathUnescape(p); err == nil {
			p = dec
		}
	}
	return host, p
}

// replayable reports whether a request may be sent again after a failure
// that may have reached the target: no body, and an idempotent method.
func replayable(req *head) bool {
	if req.contentLen > 0 || req.chunked {
		return false
	}
	switch string(req.bytes(req.first[0])) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// forward sends the request to t and copies the answer back. retry reports
// that nothing was answered and the request may go to another target; keep
// whether the client connection stays open.
func (l *httpListener) forward(cc *clientConn, t *target, keep bool) (retry, kept bool) {
	req := &cc.req
	idle := l.idleTimeout()
	sent := false // the request body has been (partly) consumed
	for {
		uc, reused, err := t.pool.get()
		if err != nil {
			t.markFailed(time.Now())
			l.log.Debug("target refused a connection", "target", t.addr, "err", err)
			return !sent, false
		}
		refreshDeadline(uc.nc, &uc.deadlineSet, idle)
		err = l.writeRequest(cc, uc, &sent)
		if err == nil {
			err = l.readResponse(cc, uc)
		}
		if err != nil {
			uc.nc.Close()
			if !sent && reused && replayable(req) {
				continue // the target closed a pooled connection as it was reused
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return false, l.answer(cc, http.StatusGatewayTimeout, false)
			}
			if !reused {
				t.markFailed(time.Now())
			}
			if !sent && replayable(req) {
				return true, false
			}
			l.log.Debug("request to target failed", "target", t.addr, "err", err)
			return false, l.answer(cc, http.StatusBadGateway, keep && !sent && req.contentLen <= 0 && !req.chunked)
		}
		if cc.resp.status == http.StatusSwitchingProtocols {
			l.tunnel(cc, uc)
			return false, false
		}
		kept, reuse := l.copyResponse(cc, uc, keep, idle)
		if reuse {
			t.pool.put(uc)
		} else {
			uc.nc.Close()
		}
		return false, kept
	}
}

// writeRequest writes the request head and body to the target.
func (l *httpListener) writeRequest(cc *clientConn, uc *upConn, sent *bool) error {
	req, bw := &cc.req, uc.bw
	bw.Write(req.bytes(req.first[0]))
	bw.WriteByte(' ')
	target := req.bytes(req.first[1])
	if len(target) > 0 && target[0] != '/' && string(target) != "*" {
		u, err := url.Parse(string(target))
		if err != nil || u.RequestURI() == "" {
			bw.WriteString("/")
		} else {
			bw.WriteString(u.RequestURI()) // absolute-form: the origin form
		}
	} else {
		bw.Write(target)
	}
	bw.WriteString(" HTTP/1.1\r\n")
	if req.hosts == 0 {
		bw.WriteString("Host: ")
		bw.WriteString(cc.c.LocalAddr().String())
		bw.WriteString("\r\n")
	}
	var xff []span
	for _, f := range req.fields {
		switch {
		case req.hop(f), req.is(f, "Expect"), req.is(f, "X-Forwarded-Proto"), req.is(f, "X-Forwarded-Port"):
			continue
		case req.is(f, "X-Forwarded-For"):
			xff = append(xff, f.value)
			continue
		}
		bw.Write(req.bytes(f.name))
		bw.WriteString(": ")
		bw.Write(req.bytes(f.value))
		bw.WriteString("\r\n")
	}
	bw.WriteString("X-Forwarded-For: ")
	for _, v := range xff {
		bw.Write(req.bytes(v))
		bw.WriteString(", ")
	}
	bw.WriteString(cc.clientIP)
	bw.WriteString("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ")
	bw.WriteString(l.port)
	bw.WriteString("\r\n")
	if req.connUpg && !req.upgrade.empty() {
		bw.WriteString("Connection: Upgrade\r\nUpgrade: ")
		bw.Write(req.bytes(req.upgrade))
		bw.WriteString("\r\n")
	}
	switch {
	case req.chunked:
		bw.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	case req.contentLen >= 0:
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.FormatInt(req.contentLen, 10))
		bw.WriteString("\r\n\r\n")
	default:
		bw.WriteString("\r\n")
	}
	if req.contentLen > 0 || req.chunked {
		if req.expect {
			// The client waits for leave to send its body.
			cc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := cc.bw.Flush(); err != nil {
				return err
			}
		}
		*sent = true
		mv := newMover(l.idleTimeout(), cc.c, uc.nc)
		var err error
		if req.chunked {
			err = copyChunked(bw, cc.br, false, mv)
		} else {
			err = copyBody(bw, cc.br, req.contentLen, false, mv)
		}
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}

// readResponse reads the target's answer head, passing over interim ones.
func (l *httpListener) readResponse(cc *clientConn, uc *upConn) error {
	for {
		if err := cc.resp.readResponse(uc.br); err != nil {
			return err
		}
		if s := cc.resp.status; s >= 200 || s == http.StatusSwitchingProtocols {
			if s == http.StatusSwitchingProtocols && !(cc.req.connUpg && !cc.req.upgrade.empty()) {
				return errors.New("the target switched protocols unasked")
			}
			return nil
		}
	}
}

// body framings of a response.
const (
	bodyNone = iota
	bodyLength
	bodyChunked
	bodyToClose
)

// copyResponse writes the target's answer to the client. It reports whether
// the client connection stays open and whether the connection to the target
// may be reused.
func (l *httpListener) copyResponse(cc *clientConn, uc *upConn, keep bool, idle time.Duration) (kept, reuse bool) {
	req, resp, bw := &cc.req, &cc.resp, cc.bw
	framing := bodyNone
	switch {
	case string(req.bytes(req.first[0])) == http.MethodHead || resp.status == 204 || resp.status == 304:
	case resp.chunked:
		framing = bodyChunked
	case resp.contentLen >= 0:
		framing = bodyLength
	default:
		framing = bodyToClose
	}
	reuse = !resp.closeConn && (!resp.http10 || resp.keepAlive) && framing != bodyToClose
	if framing == bodyToClose || framing == bodyChunked && req.http10 {
		keep = false // the end of the connection ends the body
	}
	bw.WriteString("HTTP/1.1 ")
	bw.Write(resp.bytes(resp.first[1]))
	bw.WriteByte(' ')
	bw.Write(resp.bytes(resp.first[2]))
	bw.WriteString("\r\n")
	for _, f := range resp.fields {
		if resp.hop(f) && !(framing != bodyChunked && resp.is(f, "Content-Length")) {
			continue
		}
		bw.Write(resp.bytes(f.name))
		bw.WriteString(": ")
		bw.Write(resp.bytes(f.value))
		bw.WriteString("\r\n")
	}
	if framing == bodyChunked && !req.http10 {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	switch {
	case !keep:
		bw.WriteString("Connection: close\r\n")
	case req.http10:
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	var err error
	mv := newMover(idle, cc.c, uc.nc)
	switch framing {
	case bodyLength:
		err = copyBody(bw, uc.br, resp.contentLen, false, mv)
	case bodyChunked:
		if req.http10 {
			err = copyBody(bw, httputil.NewChunkedReader(uc.br), -1, true, mv)
		} else {
			err = copyChunked(bw, uc.br, true, mv)
		}
	case bodyToClose:
		err = copyBody(bw, uc.br, -1, true, mv)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return false, false
	}
	return keep, reuse
}

// mover keeps the deadlines of an exchange's connections moving while its
// body moves: the idle timeout counts from the last progress.
type mover struct {
	conns     [2]net.Conn
	idle      time.Duration
	refreshed time.Time
}

func newMover(idle time.Duration, a, b net.Conn) *mover {
	return &mover{conns: [2]net.Conn{a, b}, idle: idle, refreshed: time.Now()}
}

func (m *mover) tick() {
	if m == nil {
		return
	}
	if now := time.Now(); now.Sub(m.refreshed) > time.Second {
		m.refreshed = now
		for _, c := range m.conns {
			_ = c.SetDeadline(now.Add(m.idle))
		}
	}
}

// copyBody copies n bytes (or until the end of src when n < 0), flushing
// each piece when flush is set (a stream).
func copyBody(dst *bufio.Writer, src io.Reader, n int64, flush bool, mv *mover) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for n != 0 {
		chunk := buf
		if n > 0 && int64(len(chunk)) > n {
			chunk = chunk[:n]
		}
		m, err := src.Read(chunk)
		if m > 0 {
			if _, werr := dst.Write(chunk[:m]); werr != nil {
				return werr
			}
			if flush {
				if werr := dst.Flush(); werr != nil {
					return werr
				}
			}
			if n > 0 {
				n -= int64(m)
			}
		}
		if err == io.EOF && n < 0 {
			return nil
		}
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		mv.tick()
	}
	return nil
}

// maxChunkLine bounds a chunk-size line (with extensions) and a trailer
// field.
const maxChunkLine = 4 << 10

// copyChunked copies a chunked body as it is, chunk by chunk, through the
// last chunk and the trailer section.
func copyChunked(dst *bufio.Writer, src *bufio.Reader, flush bool, mv *mover) error {
	for {
		line, err := src.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return errors.New("a chunk-size line is too long")
			}
			return err
		}
		size, err := chunkSize(line)
		if err != nil {
			return err
		}
		if _, err := dst.Write(line); err != nil {
			return err
		}
		if size == 0 {
			for { // the trailer section, up to its empty line
				line, err := src.ReadSlice('\n')
				if err != nil {
					return errors.New("the chunked body's trailer section is malformed")
				}
				if _, err := dst.Write(line); err != nil {
					return err
				}
				if len(line) <= 2 {
					return nil
				}
			}
		}
		if err := copyBody(dst, src, size, false, mv); err != nil {
			return err
		}
		crlf, err := src.ReadSlice('\n')
		if err != nil || len(crlf) > 2 || len(crlf) == 2 && crlf[0] != '\r' {
			return errors.New("a chunk does not end where its size says")
		}
		if _, err := dst.Write(crlf); err != nil {
			return err
		}
		if flush {
			if err := dst.Flush(); err != nil {
				return err
			}
		}
		mv.tick()
	}
}

// chunkSize parses a chunk-size line: hexadecimal digits, optional
// extensions after ';'.
func chunkSize(line []byte) (int64, error) {
	var n int64
	digits := 0
	for _, c := range line {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c == ';' || c == '\r' || c == '\n' || c == ' ' || c == '\t':
			if digits == 0 {
				return 0, errors.New("a chunk-size line without a size")
			}
			return n, nil
		default:
			return 0, errors.New("a malformed chunk size")
		}
		if digits++; digits > 15 {
			return 0, errors.New("a chunk size too large")
		}
		n = n<<4 | int64(d)
	}
	return 0, errors.New("a chunk-size line without its end")
}

// tunnel joins the client and the target after a protocol upgrade
// (WebSocket), until both sides are done.
func (l *httpListener) tunnel(cc *clientConn, uc *upConn) {
	defer uc.nc.Close()
	resp, bw := &cc.resp, cc.bw
	bw.WriteString("HTTP/1.1 101 ")
	bw.Write(resp.bytes(resp.first[2]))
	bw.WriteString("\r\n")
	for _, f := range resp.fields {
		if !resp.hop(f) {
			bw.Write(resp.bytes(f.name))
			bw.WriteString(": ")
			bw.Write(resp.bytes(f.value))
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("Connection: Upgrade\r\nUpgrade: ")
	bw.Write(resp.bytes(resp.upgrade))
	bw.WriteString("\r\n\r\n")
	if bw.Flush() != nil {
		return
	}
	_ = uc.nc.SetDeadline(time.Time{})
	_ = cc.c.SetDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(uc.nc, cc.br)
		closeWrite(uc.nc)
		close(done)
	}()
	_, _ = io.Copy(cc.c, uc.br)
	closeWrite(cc.c)
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	c.Close()
}

// answer writes an answer of the load balancer's own (an error page, as ELB
// answers them) and reports whether the connection stays open.
func (l *httpListener) answer(cc *clientConn, code int, keep bool) bool {
	text := strconv.Itoa(code) + " " + http.StatusText(code)
	body := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text + "</h1></center>\r\n</body>\r\n</html>\r\n"
	return l.respond(cc, code, "text/html", body, keep)
}

// fixed answers a fixed-response action.
func (l *httpListener) fixed(cc *clientConn, act *action, keep bool) bool {
	code, err := strconv.Atoi(act.fixed.StatusCode)
	if err != nil {
		code = http.StatusServiceUnavailable
	}
	return l.respond(cc, code, act.fixed.ContentType, act.fixed.MessageBody, keep)
}

func (l *httpListener) respond(cc *clientConn, code int, contentType, body string, keep bool) bool {
	bw := cc.bw
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(code))
	bw.WriteByte(' ')
	bw.WriteString(http.StatusText(code))
	bw.WriteString("\r\nServer: wharf-lb\r\n")
	if contentType != "" {
		bw.WriteString("Content-Type: ")
		bw.WriteString(contentType)
		bw.WriteString("\r\n")
	}
	bw.WriteString("Content-Length: ")
	bw.WriteString(strconv.Itoa(len(body)))
	bw.WriteString("\r\n")
	if !keep {
		bw.WriteString("Connection: close\r\n")
	} else if cc.req.http10 {
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if string(cc.req.bytes(cc.req.first[0])) != http.MethodHead {
		bw.WriteString(body)
	}
	return bw.Flush() == nil && keep
}
