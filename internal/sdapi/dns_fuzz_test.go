package sdapi

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

// fuzzDNS is a DNS server's answering logic over a catalog holding one
// private namespace with a service of A, AAAA and SRV records, one with a
// dotted name, and their instances.
func fuzzDNS(t testing.TB) *DNSServer {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "wharf.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := New(Config{Store: st, Region: "us-east-1", AccountID: "123456789012"})
	go a.catalog.Run(ctx)
	op, err := a.CreatePrivateDnsNamespace(ctx, &createPrivateDnsNamespaceInput{Name: "fuzz.local", Vpc: "v"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.GetOperation(ctx, &getOperationInput{OperationId: op.OperationId})
	if err != nil {
		t.Fatal(err)
	}
	ttl := int64(7)
	for _, name := range []string{"web", "_http._tcp.api", "."} {
		svc, err := a.CreateService(ctx, &createServiceInput{Name: name, NamespaceId: got.Operation.Targets["NAMESPACE"],
			DnsConfig:               &dnsConfig{DnsRecords: []dnsRecord{{Type: "A", TTL: &ttl}, {Type: "AAAA", TTL: &ttl}, {Type: "SRV", TTL: &ttl}}},
			HealthCheckCustomConfig: &healthCheckCustomConfig{}})
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range []string{"i-1", "I-2", "a:b@c/d"} {
			attrs := map[string]string{"AWS_INSTANCE_IPV4": "10.0.0." + string(rune('1'+i)), "AWS_INSTANCE_IPV6": "2001:db8::1", "AWS_INSTANCE_PORT": "80"}
			if _, err := a.RegisterInstance(ctx, &registerInstanceInput{ServiceId: svc.Service.Id, InstanceId: id, Attributes: attrs}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.catalog.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return &DNSServer{cat: a.catalog}
}

// FuzzDNSMessages hands the answering logic arbitrary packets: whatever
// parses as a DNS message gets an answer that packs, REFUSED unless the
// question is in the namespace.
func FuzzDNSMessages(f *testing.F) {
	for _, q := range []struct {
		name string
		typ  uint16
	}{{"web.fuzz.local.", dns.TypeSRV}, {"i-1.web.fuzz.local.", dns.TypeAAAA}, {"fuzz.local.", dns.TypeSOA},
		{"_tcp.api.fuzz.local.", dns.TypeANY}, {"example.com.", dns.TypeA}, {"x.y.z.fuzz.local.", dns.TypeA}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.typ)
		m.SetEdns0(4096, false)
		b, _ := m.Pack()
		f.Add(b)
	}
	d := fuzzDNS(f)
	f.Fuzz(func(t *testing.T, packet []byte) {
		req := new(dns.Msg)
		if req.Unpack(packet) != nil {
			return
		}
		m := d.answer(req)
		if _, err := m.Pack(); err != nil {
			t.Fatalf("answer to %v does not pack: %v\n%s", req.Question, err, m)
		}
		if m.Id != req.Id || !m.Response {
			t.Fatalf("answer %d/%v to query %d", m.Id, m.Response, req.Id)
		}
		if len(req.Question) == 1 && req.Opcode == dns.OpcodeQuery && req.Question[0].Qclass == dns.ClassINET {
			inside := strings.HasSuffix(strings.ToLower(req.Question[0].Name), "fuzz.local.")
			if inside == (m.Rcode == dns.RcodeRefused) {
				t.Fatalf("question %s answered %s", req.Question[0].Name, dns.RcodeToString[m.Rcode])
			}
		}
	})
}

// FuzzDNSNames asks every record type of arbitrary names under the
// namespace: answers pack, carry only records at the question's name (or
// an SRV target's in the additional section), and never hold an unhealthy
// or unknown address.
func FuzzDNSNames(f *testing.F) {
	for _, s := range []string{"web", "i-1.web", "I-2.WEB", "_http._tcp.api", "i-1._http._tcp.api", "i-1", "", "a.b.c", "\\000.web", "web."} {
		f.Add(s, uint16(dns.TypeANY))
	}
	d := fuzzDNS(f)
	f.Fuzz(func(t *testing.T, label string, qtype uint16) {
		name := label + ".fuzz.local."
		if label == "" {
			name = "fuzz.local."
		}
		if _, ok := dns.IsDomainName(name); !ok {
			return
		}
		req := new(dns.Msg)
		req.SetQuestion(name, qtype)
		m := d.answer(req)
		if _, err := m.Pack(); err != nil {
			t.Fatalf("answer to %s does not pack: %v", name, err)
		}
		for _, rr := range m.Answer {
			if !strings.EqualFold(rr.Header().Name, name) {
				t.Fatalf("answer to %s holds a record of %s", name, rr.Header().Name)
			}
			if a, ok := rr.(*dns.A); ok && !strings.HasPrefix(a.A.String(), "10.0.0.") {
				t.Fatalf("answer to %s holds address %s", name, a.A)
			}
		}
		if m.Rcode == dns.RcodeRefused {
			t.Fatalf("a name in the namespace, %s, was refused", name)
		}
	})
}

// serviceNamePattern is the model's ServiceName pattern less its lookahead,
// which Go's regexp lacks (the length check stands in for it).
var serviceNamePattern = regexp.MustCompile(`^([a-zA-Z0-9_][a-zA-Z0-9-_]{0,61}[a-zA-Z0-9_]|[a-zA-Z0-9])(\.([a-zA-Z0-9_][a-zA-Z0-9-_]{0,61}[a-zA-Z0-9_]|[a-zA-Z0-9]))*$`)

// FuzzServiceName checks the hand-written service name check against the
// model's pattern.
func FuzzServiceName(f *testing.F) {
	for _, s := range []string{"web", ".", "_http._tcp.web", "a", "_", "-a", "a-", "a..b", "x" + strings.Repeat("y", 62), strings.Repeat("a.", 64) + "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		want := name == "." || len(name) >= 1 && len(name) <= 127 && serviceNamePattern.MatchString(name)
		if got := checkServiceName(name) == nil; got != want {
			t.Fatalf("checkServiceName(%q) accepts = %v; the model's pattern says %v", name, got, want)
		}
	})
}
