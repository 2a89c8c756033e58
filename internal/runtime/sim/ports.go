package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// portAllocator hands out host ports per protocol. Dynamic ports come from
// [min, max] in turn after the last one given, as Docker's allocator does,
// so a port freed a moment ago is not handed out again at once.
type portAllocator struct {
	min, max int
	tcp, udp portSpace
}

type portSpace struct {
	used map[int]bool // made on first use: most simulated hosts bind few ports
	next int
}

func (p *portAllocator) space(proto string) *portSpace {
	if proto == "udp" {
		return &p.udp
	}
	return &p.tcp
}

// reserve takes a fixed host port; false if it is taken.
func (p *portAllocator) reserve(proto string, port int) bool {
	s := p.space(proto)
	if s.used[port] {
		return false
	}
	if s.used == nil {
		s.used = map[int]bool{}
	}
	s.used[port] = true
	return true
}

// allocate takes the next free dynamic port; false if the range is full.
func (p *portAllocator) allocate(proto string) (int, bool) {
	s := p.space(proto)
	n := p.max - p.min + 1
	if s.next < p.min || s.next > p.max {
		s.next = p.min
	}
	for i := 0; i < n; i++ {
		port := s.next
		s.next++
		if s.next > p.max {
			s.next = p.min
		}
		if p.reserve(proto, port) {
			return port, true
		}
	}
	return 0, false
}

func (p *portAllocator) release(proto string, port int) { delete(p.space(proto).used, port) }

// bindPorts publishes the container's port mappings for the run that is
// starting. Like Docker, a fixed host port another container holds fails the
// start, and nothing stays bound when any mapping fails.
func (r *Runtime) bindPorts(c *container) error {
	if c.network == "host" || c.network == "none" {
		return nil
	}
	var bound []runtime.PortBinding
	for _, pm := range c.mappings {
		proto := strings.ToLower(pm.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		port, ok := pm.HostPort, false
		if port != 0 {
			ok = r.ports.reserve(proto, port)
		} else {
			port, ok = r.ports.allocate(proto)
		}
		if !ok {
			for _, b := range bound {
				r.ports.release(b.Protocol, b.HostPort)
			}
			if pm.HostPort != 0 {
				return fmt.Errorf("bind host port %d/%s: port is already allocated", pm.HostPort, proto)
			}
			return fmt.Errorf("bind container port %d/%s: no free host port in %d-%d", pm.ContainerPort, proto, r.ports.min, r.ports.max)
		}
		hostIP := pm.HostIP
		if hostIP == "" {
			hostIP = "0.0.0.0"
		}
		bound = append(bound, runtime.PortBinding{ContainerPort: pm.ContainerPort, HostPort: port, Protocol: proto, HostIP: hostIP})
	}
	c.bound = bound
	return nil
}

func (r *Runtime) releasePorts(c *container) {
	for _, b := range c.bound {
		r.ports.release(b.Protocol, b.HostPort)
	}
	c.bound = nil
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
