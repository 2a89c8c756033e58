package sdapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// DNSServer answers DNS queries for Cloud Map's private DNS namespaces over
// UDP and TCP, from the catalog: A, AAAA and SRV records of services'
// healthy instances with the services' TTLs, NXDOMAIN for names under a
// namespace that do not exist, and REFUSED for every name outside the
// namespaces (it is no recursive resolver: point a forwarding resolver's
// zone at it, or query it directly).
type DNSServer struct {
	cat     *Catalog
	log     *slog.Logger
	udp     net.PacketConn
	tcp     net.Listener
	servers []*dns.Server
	stop    context.CancelFunc
	ctx     context.Context

	mu     sync.Mutex
	served bool // Serve owns the sockets
	closed bool
}

// ListenDNS binds addr on UDP and the same port on TCP (port 0 picks one
// free on both), so that a taken address fails at start rather than later.
func ListenDNS(cat *Catalog, addr string, log *slog.Logger) (*DNSServer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var lastErr error
	for range 10 {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("DNS server: listen on UDP %s: %w", addr, err)
		}
		tcp, err := net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			d := &DNSServer{cat: cat, log: log, udp: udp, tcp: tcp}
			d.ctx, d.stop = context.WithCancel(context.Background())
			return d, nil
		}
		udp.Close()
		lastErr = err
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break // a fixed port taken on TCP: retrying cannot help
		}
	}
	return nil, fmt.Errorf("DNS server: listen on TCP %s: %w", addr, lastErr)
}

// Addr is the address the server answers on (UDP and TCP).
func (d *DNSServer) Addr() string { return d.udp.LocalAddr().String() }

// Serve answers queries until ctx ends or Close is called.
func (d *DNSServer) Serve(ctx context.Context) {
	d.mu.Lock()
	if d.closed || d.served {
		d.mu.Unlock()
		return
	}
	d.served = true
	d.mu.Unlock()
	h := dns.HandlerFunc(d.serveDNS)
	udp := &dns.Server{PacketConn: d.udp, Handler: h}
	tcp := &dns.Server{Listener: d.tcp, Handler: h, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	for _, s := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.ActivateAndServe(); err != nil {
				d.log.Error("DNS server stopped", "err", err)
			}
		}()
		// Shutdown needs a started server; wait, unless it failed.
		select {
		case <-started:
		case <-time.After(5 * time.Second):
		}
	}
	d.log.Info("DNS server listening", "addr", d.Addr())
	select {
	case <-ctx.Done():
	case <-d.ctx.Done():
	}
	for _, s := range []*dns.Server{udp, tcp} {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.ShutdownContext(sctx); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Debug("DNS server shutdown", "err", err)
		}
		cancel()
	}
	wg.Wait()
}

// Close stops Serve, or releases the sockets of a server never served.
func (d *DNSServer) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	d.stop()
	if !d.served {
		d.udp.Close()
		d.tcp.Close()
	}
}

func (d *DNSServer) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := d.answer(req)
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(int(opt.UDPSize()), dns.MinMsgSize)
		m.SetEdns0(uint16(min(size, 4096)), false)
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		m.Truncate(size)
	}
	if err := w.WriteMsg(m); err != nil {
		d.log.Debug("DNS answer not sent", "err", err)
	}
}
