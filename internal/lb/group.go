package lb

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// group is a target group as a node serves it: its targets, with what each
// carries between configurations (requests in flight, pooled connections).
type group struct {
	arn  string
	set  atomic.Pointer[targetSet]
	next atomic.Uint64 // round robin position
}

// targetSet is the group's targets as of one configuration.
type targetSet struct {
	leastOutstanding bool
	// serving are the targets that take new requests: the healthy ones, or
	// when none is healthy every one not draining (ELB fails open).
	serving []*target
}

// target is one registered target on this node.
type target struct {
	key      string
	addr     string // host:port
	inflight atomic.Int64
	draining atomic.Bool
	// failedUntil is when a target that just refused a connection may be
	// tried again (unix nanoseconds): passive health, until the active
	// checks conclude.
	failedUntil atomic.Int64
	pool        *pool
	// conns tracks the TCP connections proxied to the target, to end
	// them when its draining ends.
	connMu sync.Mutex
	conns  map[net.Conn]struct{}
}

func newTarget(t Target) *target {
	addr := net.JoinHostPort(t.Address, strconv.Itoa(int(t.Port)))
	tg := &target{key: t.Key(), addr: addr}
	tg.pool = newPool(addr)
	return tg
}

// passiveFailWindow is how long a target that refused a connection is
// passed over while others can serve.
const passiveFailWindow = 2 * time.Second

func (t *target) markFailed(now time.Time) {
	t.failedUntil.Store(now.Add(passiveFailWindow).UnixNano())
}

func (t *target) failed(now int64) bool { return t.failedUntil.Load() > now }

// pick chooses the target for a new request or connection, skipping those
// in avoid (already tried for this request). It returns nil when the group
// has no target to offer.
func (g *group) pick(avoid []*target) *target {
	set := g.set.Load()
	if set == nil || len(set.serving) == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	n := len(set.serving)
	start := int(g.next.Add(1) % uint64(n))
	var best *target
	var fallback *target
	for i := 0; i < n; i++ {
		t := set.serving[(start+i)%n]
		if t.draining.Load() || contains(avoid, t) {
			continue
		}
		if t.failed(now) {
			if fallback == nil {
				fallback = t
			}
			continue
		}
		if !set.leastOutstanding {
			return t
		}
		if best == nil || t.inflight.Load() < best.inflight.Load() {
			best = t
		}
	}
	if best != nil {
		return best
	}
	return fallback
}

func contains(ts []*target, t *target) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// trackConn and untrackConn keep the target's open TCP connections.
func (t *target) trackConn(c net.Conn) {
	t.connMu.Lock()
	if t.conns == nil {
		t.conns = map[net.Conn]struct{}{}
	}
	t.conns[c] = struct{}{}
	t.connMu.Unlock()
}

func (t *target) untrackConn(c net.Conn) {
	t.connMu.Lock()
	delete(t.conns, c)
	t.connMu.Unlock()
}

// closeConns ends every TCP connection proxied to the target.
func (t *target) closeConns() {
	t.connMu.Lock()
	for c := range t.conns {
		c.Close()
	}
	t.connMu.Unlock()
}
