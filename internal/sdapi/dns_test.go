package sdapi_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/miekg/dns"

	"github.com/wharf-ecs/wharf/internal/sdapi"
)

// startDNS serves DNS from a catalog of the test server's store, as the
// server does with --dns-listen.
func (e *env) startDNS(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cat := sdapi.NewCatalog(e.srv.Store(), nil)
	go cat.Run(ctx)
	d, err := sdapi.ListenDNS(cat, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d.Addr()
}

// query asks addr over UDP (or TCP) and returns the answer.
func query(t testing.TB, addr, name string, qtype uint16, network string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

// addrs lists the A records' addresses of a section, sorted, and checks
// their TTL.
func addrs(t testing.TB, rrs []dns.RR, ttl uint32) []string {
	t.Helper()
	var out []string
	for _, rr := range rrs {
		a, ok := rr.(*dns.A)
		if !ok {
			continue
		}
		if a.Hdr.Ttl != ttl {
			t.Fatalf("A record %s has TTL %d; want %d", a, a.Hdr.Ttl, ttl)
		}
		out = append(out, a.A.String())
	}
	slices.Sort(out)
	return out
}

func srvs(t testing.TB, rrs []dns.RR, ttl uint32) []string {
	t.Helper()
	var out []string
	for _, rr := range rrs {
		s, ok := rr.(*dns.SRV)
		if !ok {
			continue
		}
		if s.Hdr.Ttl != ttl || s.Priority != 1 || s.Weight != 1 {
			t.Fatalf("SRV record %s; want TTL %d, priority 1, weight 1", s, ttl)
		}
		out = append(out, fmt.Sprintf("%d %s", s.Port, s.Target))
	}
	slices.Sort(out)
	return out
}

func wantRcode(t testing.TB, what string, r *dns.Msg, rcode int) {
	t.Helper()
	if r.Rcode != rcode {
		t.Fatalf("%s: rcode %s; want %s\n%s", what, dns.RcodeToString[r.Rcode], dns.RcodeToString[rcode], r)
	}
}

func TestDNSAnswers(t *testing.T) {
	e := start(t)
	addr := e.startDNS(t)
	nsID := e.privateNamespace(t, "corp.internal")
	web := aws.ToString(e.dnsService(t, nsID, "web", "", true).Id)
	e.register(t, web, "t1", map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.1", "AWS_INSTANCE_PORT": "31001"})
	e.register(t, web, "t2", map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.2", "AWS_INSTANCE_PORT": "31002"})
	e.register(t, web, "t3", map[string]string{"AWS_INSTANCE_IPV4": "10.0.0.3", "AWS_INSTANCE_PORT": "31003", "AWS_INIT_HEALTH_STATUS": "UNHEALTHY"})

	var r *dns.Msg
	waitFor(t, 5*time.Second, "the DNS server to see the instances", func() bool {
		r = query(t, addr, "web.corp.internal", dns.TypeA, "udp")
		return len(r.Answer) == 2
	})
	if !r.Authoritative || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("answer not authoritative NOERROR: %s", r)
	}
	if got := addrs(t, r.Answer, 10); !slices.Equal(got, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Fatalf("A web = %v; want the two healthy instances", got)
	}
	// SRV answers carry the port and target, with the targets' addresses.
	r = query(t, addr, "WEB.Corp.Internal", dns.TypeSRV, "tcp")
	if got := srvs(t, r.Answer, 20); !slices.Equal(got, []string{"31001 t1.web.corp.internal.", "31002 t2.web.corp.internal."}) {
		t.Fatalf("SRV web = %v", got)
	}
	if got := addrs(t, r.Extra, 10); !slices.Equal(got, []string{"10.0.0.1", "10.0.0.2"}) {
		t.Fatalf("SRV additional A = %v", got)
	}
	r = query(t, addr, "t2.web.corp.internal", dns.TypeA, "udp")
	if got := addrs(t, r.Answer, 10); !slices.Equal(got, []string{"10.0.0.2"}) {
		t.Fatalf("A t2.web = %v", got)
	}
	// No AAAA record: NODATA with the SOA.
	r = query(t, addr, "web.corp.internal", dns.TypeAAAA, "udp")
	wantRcode(t, "AAAA", r, dns.RcodeSuccess)
	if len(r.Answer) != 0 || len(r.Ns) != 1 {
		t.Fatalf("AAAA web = %s; want NODATA with the SOA", r)
	}
	// Unknown names under the namespace: NXDOMAIN with the SOA, whose TTL
	// bounds negative caching.
	r = query(t, addr, "nope.corp.internal", dns.TypeA, "udp")
	wantRcode(t, "unknown service", r, dns.RcodeNameError)
	if soa, ok := r.Ns[0].(*dns.SOA); !ok || soa.Minttl != 15 || soa.Hdr.Ttl != 15 || soa.Hdr.Name != "corp.internal." {
		t.Fatalf("authority = %v; want the namespace's SOA with TTL 15", r.Ns)
	}
	wantRcode(t, "unknown target", query(t, addr, "t9.web.corp.internal", dns.TypeA, "udp"), dns.RcodeNameError)
	r = query(t, addr, "corp.internal", dns.TypeSOA, "udp")
	if len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("SOA at the apex = %s", r)
	}
	// Names outside Wharf's namespaces are refused: it is no resolver.
	wantRcode(t, "outside", query(t, addr, "example.com", dns.TypeA, "udp"), dns.RcodeRefused)
	wantRcode(t, "sibling", query(t, addr, "internal", dns.TypeA, "udp"), dns.RcodeRefused)

	// Health changes show in the next answer.
	must[*servicediscovery.UpdateInstanceCustomHealthStatusOutput](t, "unhealthy")(e.sd.UpdateInstanceCustomHealthStatus(e.ctx,
		&servicediscovery.UpdateInstanceCustomHealthStatusInput{ServiceId: aws.String(web), InstanceId: aws.String("t1"), Status: sdtypes.CustomHealthStatusUnhealthy}))
	must[*servicediscovery.UpdateInstanceCustomHealthStatusOutput](t, "healthy")(e.sd.UpdateInstanceCustomHealthStatus(e.ctx,
		&servicediscovery.UpdateInstanceCustomHealthStatusInput{ServiceId: aws.String(web), InstanceId: aws.String("t3"), Status: sdtypes.CustomHealthStatusHealthy}))
	waitFor(t, 5*time.Second, "t1 out and t3 in", func() bool {
		return slices.Equal(addrs(t, query(t, addr, "web.corp.internal", dns.TypeA, "udp").Answer, 10), []string{"10.0.0.2", "10.0.0.3"})
	})
	// With no healthy instance a MULTIVALUE service answers nothing.
	for _, i := range []string{"t2", "t3"} {
		must[*servicediscovery.UpdateInstanceCustomHealthStatusOutput](t, "unhealthy")(e.sd.UpdateInstanceCustomHealthStatus(e.ctx,
			&servicediscovery.UpdateInstanceCustomHealthStatusInput{ServiceId: aws.String(web), InstanceId: aws.String(i), Status: sdtypes.CustomHealthStatusUnhealthy}))
	}
	waitFor(t, 5*time.Second, "no healthy instance", func() bool {
		r := query(t, addr, "web.corp.internal", dns.TypeA, "udp")
		return r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0
	})
	// With no instance at all the name has no records: NXDOMAIN.
	for _, i := range []string{"t1", "t2", "t3"} {
		must[*servicediscovery.DeregisterInstanceOutput](t, "deregister")(e.sd.DeregisterInstance(e.ctx,
			&servicediscovery.DeregisterInstanceInput{ServiceId: aws.String(web), InstanceId: aws.String(i)}))
	}
	waitFor(t, 5*time.Second, "NXDOMAIN once empty", func() bool {
		return query(t, addr, "web.corp.internal", dns.TypeA, "udp").Rcode == dns.RcodeNameError
	})
}

func TestDNSRoutingPolicies(t *testing.T) {
	e := start(t)
	addr := e.startDNS(t)
	nsID := e.privateNamespace(t, "policy.local")
	multi := aws.ToString(e.dnsService(t, nsID, "multi", sdtypes.RoutingPolicyMultivalue, false).Id)
	weighted := aws.ToString(e.dnsService(t, nsID, "_api._tcp.weighted", sdtypes.RoutingPolicyWeighted, true).Id)
	for i := range 10 {
		e.register(t, multi, fmt.Sprintf("m%d", i), map[string]string{"AWS_INSTANCE_IPV4": fmt.Sprintf("10.1.0.%d", i), "AWS_INSTANCE_PORT": "80"})
		e.register(t, weighted, fmt.Sprintf("w%d", i), map[string]string{"AWS_INSTANCE_IPV4": fmt.Sprintf("10.2.0.%d", i), "AWS_INSTANCE_PORT": "80",
			"AWS_INIT_HEALTH_STATUS": "UNHEALTHY"})
	}
	seen := map[string]bool{}
	waitFor(t, 5*time.Second, "ten instances", func() bool {
		r := query(t, addr, "multi.policy.local", dns.TypeA, "udp")
		for _, a := range addrs(t, r.Answer, 10) {
			seen[a] = true
		}
		// MULTIVALUE answers up to eight, picked at random.
		if len(r.Answer) > 8 {
			t.Fatalf("MULTIVALUE answered %d records; want at most 8", len(r.Answer))
		}
		return len(r.Answer) == 8 && len(seen) == 10
	})
	// WEIGHTED answers one; with none healthy, Route 53 answers as if all
	// were, and so does Wharf.
	for range 5 {
		r := query(t, addr, "_api._tcp.weighted.policy.local", dns.TypeSRV, "udp")
		if len(r.Answer) != 1 {
			t.Fatalf("WEIGHTED answered %d records; want 1: %s", len(r.Answer), r)
		}
	}
	// The labels above a dotted service name exist, with no records.
	r := query(t, addr, "_tcp.weighted.policy.local", dns.TypeSRV, "udp")
	wantRcode(t, "empty non-terminal", r, dns.RcodeSuccess)
	if len(r.Answer) != 0 {
		t.Fatalf("empty non-terminal answered %s", r)
	}
}
