package sdapi

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/wharf-ecs/wharf/internal/state"
)

// maxMultivalue is how many instances a MULTIVALUE answer holds at most,
// as Route 53 answers.
const maxMultivalue = 8

// The names Cloud Map gives a service's records, which the answers follow:
//
//	SERVICE.NAMESPACE              A, AAAA: the instances' addresses
//	SERVICE.NAMESPACE              SRV: 1 1 PORT INSTANCE.SERVICE.NAMESPACE
//	INSTANCE.SERVICE.NAMESPACE     A, AAAA of an SRV target
//
// A service's records exist only while it has instances, so a service with
// none is NXDOMAIN, as in Route 53. With instances but none healthy, a
// MULTIVALUE service answers no records (NODATA); a WEIGHTED one answers as
// if all were healthy, as Route 53 does.

// answer builds the reply to one query.
func (d *DNSServer) answer(req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Compress = true
	if req.Opcode != dns.OpcodeQuery {
		m.Rcode = dns.RcodeNotImplemented
		return m
	}
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return m
	}
	q := req.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	ns, rest := d.cat.zone(name)
	if ns == nil || q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		m.Rcode = dns.RcodeRefused
		return m
	}
	m.Authoritative = true
	soa := soaRecord(ns)
	nodata := func() *dns.Msg { m.Ns = []dns.RR{soa}; return m }
	nxdomain := func() *dns.Msg { m.Rcode = dns.RcodeNameError; return nodata() }

	svcName := rest
	if rest == "" {
		svcName = "." // a service named "." lives at the namespace's apex
	}
	if e := d.cat.entryIn(ns, svcName); e.svc != nil && e.svc.DNS != nil && len(e.instances) > 0 {
		m.Answer, m.Extra = serviceRecords(q, e)
		if len(m.Answer) == 0 {
			return nodata()
		}
		return m
	}
	if rest == "" {
		if q.Qtype == dns.TypeSOA || q.Qtype == dns.TypeANY {
			soa.Hdr.Name = q.Name
			m.Answer = []dns.RR{soa}
			return m
		}
		return nodata()
	}
	if i, e := d.srvTarget(ns, rest); i != nil {
		m.Answer = addressRecords(q.Name, q.Qtype, e.svc, i)
		if len(m.Answer) == 0 {
			return nodata()
		}
		return m
	}
	if d.cat.hasNamesUnder(ns, rest) {
		return nodata() // an empty non-terminal, such as _tcp.web of _http._tcp.web
	}
	return nxdomain()
}

// srvTarget finds the instance whose SRV target is INSTANCE.SERVICE (rest,
// the name less the namespace), or nil.
func (d *DNSServer) srvTarget(ns *state.CloudMapNamespace, rest string) (*state.CloudMapInstance, entry) {
	inst, svc, ok := strings.Cut(rest, ".")
	if !ok {
		svc = "."
	}
	e := d.cat.entryIn(ns, svc)
	if e.svc == nil {
		return nil, e
	}
	if _, srv := e.svc.Record(state.CloudMapRecordSRV); !srv {
		return nil, e
	}
	for _, i := range e.instances {
		if strings.EqualFold(i.ID, inst) {
			return i, e
		}
	}
	return nil, e
}

func soaRecord(ns *state.CloudMapNamespace) *dns.SOA {
	zone := dns.Fqdn(strings.ToLower(ns.Name))
	ttl := uint32(min(ns.SOATTL, maxTTL))
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:      "ns." + zone,
		Mbox:    "hostmaster." + zone,
		Serial:  1,
		Refresh: 7200,
		Retry:   900,
		Expire:  1209600,
		Minttl:  ttl, // how long a negative answer may be cached
	}
}

// serviceRecords answers a query at a service's name from the instances
// its routing policy picks.
func serviceRecords(q dns.Question, e entry) (answer, extra []dns.RR) {
	picked := pick(e)
	for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV} {
		if q.Qtype != t && q.Qtype != dns.TypeANY {
			continue
		}
		for _, i := range picked {
			if t == dns.TypeSRV {
				rr, target := srvRecord(q.Name, e, i)
				if rr != nil {
					answer = append(answer, rr)
					extra = append(extra, addressRecords(target, dns.TypeANY, e.svc, i)...)
				}
				continue
			}
			answer = append(answer, addressRecords(q.Name, t, e.svc, i)...)
		}
	}
	return answer, extra
}

// pick applies the routing policy: MULTIVALUE answers up to eight healthy
// instances, WEIGHTED one, chosen at random.
func pick(e entry) []*state.CloudMapInstance {
	healthy := e.instances
	if e.svc.CustomHealth {
		healthy = filterHealth(e.instances, filterHealthy)
	}
	weighted := e.svc.DNS.RoutingPolicy == state.CloudMapWeighted
	if weighted && len(healthy) == 0 {
		healthy = e.instances
	}
	list := append([]*state.CloudMapInstance(nil), healthy...)
	rand.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	n := maxMultivalue
	if weighted {
		n = 1
	}
	return list[:min(n, len(list))]
}

// addressRecords are an instance's A and AAAA records at name, for the
// record types its service has (an SRV target's address records exist
// whenever the instance has the address); typ A, AAAA or ANY.
func addressRecords(name string, typ uint16, svc *state.CloudMapService, i *state.CloudMapInstance) []dns.RR {
	var out []dns.RR
	srv, hasSRV := svc.Record(state.CloudMapRecordSRV)
	add := func(recType string, rrtype uint16, attr string) {
		if typ != rrtype && typ != dns.TypeANY {
			return
		}
		rec, ok := svc.Record(recType)
		if !ok && !hasSRV {
			return
		}
		if !ok {
			rec = srv
		}
		a, err := netip.ParseAddr(i.Attributes[attr])
		if err != nil {
			return
		}
		hdr := dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: uint32(min(rec.TTL, maxTTL))}
		if rrtype == dns.TypeA && a.Is4() {
			out = append(out, &dns.A{Hdr: hdr, A: a.AsSlice()})
		}
		if rrtype == dns.TypeAAAA && a.Is6() {
			out = append(out, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
		}
	}
	add(state.CloudMapRecordA, dns.TypeA, state.CloudMapAttrIPv4)
	add(state.CloudMapRecordAAAA, dns.TypeAAAA, state.CloudMapAttrIPv6)
	return out
}

// srvRecord is an instance's SRV record at name and its target, or nil when
// the service has no SRV record or the instance no port or usable target.
func srvRecord(name string, e entry, i *state.CloudMapInstance) (dns.RR, string) {
	rec, ok := e.svc.Record(state.CloudMapRecordSRV)
	if !ok {
		return nil, ""
	}
	port, err := strconv.ParseUint(i.Attributes[state.CloudMapAttrPort], 10, 16)
	if err != nil {
		return nil, ""
	}
	target := i.ID + "." + e.svc.Name + "." + e.ns.Name + "."
	if e.svc.Name == "." {
		target = i.ID + "." + e.ns.Name + "."
	}
	if _, ok := dns.IsDomainName(target); !ok {
		return nil, ""
	}
	return &dns.SRV{
		Hdr:      dns.RR_Header{Name: name, Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: uint32(min(rec.TTL, maxTTL))},
		Priority: 1, Weight: 1, Port: uint16(port), Target: strings.ToLower(target),
	}, strings.ToLower(target)
}
