package agent

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
)

// endpoints are the control plane's URLs: one server, or the replicas of a
// replicated control plane, any of which serves every call. The agent talks
// to one at a time and moves on to the next when it cannot be reached or
// answers with a server error.
type endpoints struct {
	urls []string
	cur  atomic.Int64
}

// parseEndpoints reads a comma-separated list of http(s) URLs.
func parseEndpoints(list string) (*endpoints, error) {
	e := &endpoints{}
	for u := range strings.SplitSeq(list, ",") {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("control plane endpoint %q is not an http(s) URL like http://10.0.0.1:8080", u)
		}
		e.urls = append(e.urls, u)
	}
	if len(e.urls) == 0 {
		return nil, errors.New("the control plane endpoint is required (--endpoint URL, or several: URL,URL,URL)")
	}
	return e, nil
}

// current returns the endpoint in use and its index.
func (e *endpoints) current() (int64, string) {
	i := e.cur.Load()
	return i, e.urls[i]
}

// failed moves on from endpoint i, unless a concurrent call already did.
func (e *endpoints) failed(i int64) {
	e.cur.CompareAndSwap(i, (i+1)%int64(len(e.urls)))
}

// unsent reports whether err means the request never reached a server (no
// connection could be made), so that trying another one cannot apply it
// twice.
func unsent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
