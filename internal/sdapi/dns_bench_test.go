package sdapi

import (
	"context"
	"testing"

	"github.com/miekg/dns"
)

// BenchmarkDNSAnswer measures building the answer to an SRV query (three
// healthy instances, their A and AAAA records in the additional section).
func BenchmarkDNSAnswer(b *testing.B) {
	d := fuzzDNS(b)
	req := new(dns.Msg)
	req.SetQuestion("web.fuzz.local.", dns.TypeSRV)
	b.ReportAllocs()
	for b.Loop() {
		if m := d.answer(req); len(m.Answer) != 3 {
			b.Fatalf("answer = %s", m)
		}
	}
}

// BenchmarkDNSQueryUDP measures a whole query over loopback UDP: the miekg
// client, the server's read, answer and write.
func BenchmarkDNSQueryUDP(b *testing.B) {
	d := fuzzDNS(b)
	srv, err := ListenDNS(d.cat, "127.0.0.1:0", nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	c := new(dns.Client)
	conn, err := c.Dial(srv.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := new(dns.Msg)
	req.SetQuestion("web.fuzz.local.", dns.TypeA)
	b.ReportAllocs()
	for b.Loop() {
		r, _, err := c.ExchangeWithConn(req, conn)
		if err != nil || len(r.Answer) != 3 {
			b.Fatalf("answer = %v, %v", r, err)
		}
	}
}
