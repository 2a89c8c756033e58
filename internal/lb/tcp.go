package lb

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// tcpListener is a network load balancer's listener: each connection is
// joined to one target, chosen when it arrives.
type tcpListener struct {
	ln     net.Listener
	log    *slog.Logger
	routes atomic.Pointer[routes]
	wg     sync.WaitGroup
}

func (l *tcpListener) serve() {
	acceptLoop(l.ln, l.log, func(c net.Conn) {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.handle(c)
		}()
	})
}

// acceptLoop hands every connection ln accepts to handle until ln closes.
// Other accept errors (out of file descriptors and the like) back off and
// go on.
func acceptLoop(ln net.Listener, log *slog.Logger, handle func(net.Conn)) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			log.Warn("accept failed", "err", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		handle(c)
	}
}

func (l *tcpListener) handle(c net.Conn) {
	defer c.Close()
	rs := l.routes.Load()
	var g *group
	if rs != nil && len(rs.rules) > 0 {
		g = rs.rules[len(rs.rules)-1].action.group()
	}
	if g == nil {
		return // nothing to forward to: the client sees the connection close
	}
	var tried []*target
	for attempt := 0; attempt < maxAttempts; attempt++ {
		t := g.pick(tried)
		if t == nil {
			return
		}
		tried = append(tried, t)
		up, err := dialer.Dial("tcp", t.addr)
		if err != nil {
			t.markFailed(time.Now())
			l.log.Debug("target refused a connection", "target", t.addr, "err", err)
			continue
		}
		t.inflight.Add(1)
		t.trackConn(up)
		join(c, up)
		t.untrackConn(up)
		t.inflight.Add(-1)
		return
	}
}

// join copies both ways until both directions are done, passing on each
// side's end of stream as a half-close.
func join(a, b net.Conn) {
	defer b.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(b, a)
		closeWrite(b)
		close(done)
	}()
	_, _ = io.Copy(a, b)
	closeWrite(a)
	<-done
}

// close stops accepting; connections in progress go on.
func (l *tcpListener) close() { l.ln.Close() }
