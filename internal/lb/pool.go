package lb

import (
	"bufio"
	"net"
	"sync"
	"time"
)

// pool keeps idle keep-alive connections to one target. Connections are
// reused most recent first, so that a burst's connections stay warm and the
// rest age out.
type pool struct {
	addr   string
	mu     sync.Mutex
	idle   []*upConn
	closed bool
}

// upConn is a connection to a target with its buffers.
type upConn struct {
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	used time.Time
	// deadlineSet is when the deadline was last moved (refreshDeadline).
	deadlineSet time.Time
}

const (
	// maxIdlePerTarget bounds the idle connections kept to one target.
	maxIdlePerTarget = 512
	// upstreamIdle is how long an idle connection to a target is kept: below
	// the keep-alive timeouts servers commonly use, so the proxy closes it
	// before the target does.
	upstreamIdle = 30 * time.Second
	dialTimeout  = 10 * time.Second
)

var dialer = &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}

func newPool(addr string) *pool { return &pool{addr: addr} }

// get returns an idle connection (reused true) or a new one.
func (p *pool) get() (*upConn, bool, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	nc, err := dialer.Dial("tcp", p.addr)
	if err != nil {
		return nil, false, err
	}
	return &upConn{nc: nc, br: bufio.NewReaderSize(nc, 8<<10), bw: bufio.NewWriterSize(nc, 8<<10)}, false, nil
}

// put returns a connection whose exchange ended cleanly.
func (p *pool) put(c *upConn) {
	c.used = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdlePerTarget {
		p.mu.Unlock()
		c.nc.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// reap closes connections idle since before cutoff.
func (p *pool) reap(cutoff time.Time) {
	p.mu.Lock()
	// The oldest are first.
	n := 0
	for n < len(p.idle) && p.idle[n].used.Before(cutoff) {
		p.idle[n].nc.Close()
		n++
	}
	if n > 0 {
		p.idle = append(p.idle[:0], p.idle[n:]...)
	}
	p.mu.Unlock()
}

// close closes every idle connection and keeps no more.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	for _, c := range p.idle {
		c.nc.Close()
	}
	p.idle = nil
	p.mu.Unlock()
}
