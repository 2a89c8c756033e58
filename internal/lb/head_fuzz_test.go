package lb

import (
	"bufio"
	"strings"
	"testing"
)

// FuzzReadHead feeds arbitrary bytes to the head parsers: they answer a head
// or an error, never panic, and every span they hand out lies in the head.
func FuzzReadHead(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /a?b HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive, x-y\r\n\r\nabc",
		"PUT * HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nUpgrade: ws\r\nConnection: upgrade\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.0 304 \r\nTransfer-Encoding: gzip\r\n\r\n",
		"\r\n\r\nGET / HTTP/1.1\r\nHost:\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, response := range []bool{false, true} {
			var h head
			br := bufio.NewReaderSize(strings.NewReader(in), 16)
			var err error
			if response {
				err = h.readResponse(br)
			} else {
				err = h.readRequest(br)
			}
			if err != nil {
				continue
			}
			check := func(s span) {
				if s.lo < 0 || s.hi > len(h.buf) || s.lo > s.hi {
					t.Fatalf("span %+v outside a head of %d bytes (%q)", s, len(h.buf), in)
				}
			}
			for _, s := range h.first {
				check(s)
			}
			for _, fl := range h.fields {
				check(fl.name)
				check(fl.value)
				_ = h.hop(fl)
			}
			for _, s := range h.named {
				check(s)
			}
			check(h.host)
			check(h.upgrade)
			if !response {
				routingTarget(&h)
				if h.chunked && h.contentLen >= 0 {
					t.Fatalf("a request with both framings was accepted: %q", in)
				}
			}
		}
	})
}
