package lb_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/lb"
)

// rawNode serves one listener forwarding to a backend that echoes what it
// received (method, target, framing and body) and answers in the framing
// the path asks for.
func rawNode(t *testing.T) string {
	t.Helper()
	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		msg := fmt.Sprintf("%s %s te=%v cl=%d xff=%s body=%s", r.Method, r.RequestURI, r.TransferEncoding, r.ContentLength, r.Header.Get("X-Forwarded-For"), body)
		switch r.URL.Path {
		case "/chunked":
			w.(http.Flusher).Flush() // no length known: chunked
			io.WriteString(w, msg)
		case "/notmodified":
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("Content-Length", strconv.Itoa(len(msg)))
			io.WriteString(w, msg)
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go backend.Serve(ln)
	t.Cleanup(func() { backend.Close() })
	src := newSource()
	n := startNode(t, src)
	port := freePort(t)
	apply(t, src, n, &lb.Config{
		LoadBalancers: []lb.LoadBalancer{alb(port, lb.Rule{Actions: forward("b")})},
		TargetGroups:  []lb.TargetGroup{{Arn: "b", InUse: true, Targets: []lb.Target{target("b", ln.Addr().(*net.TCPAddr).Port)}}},
	})
	return "127.0.0.1:" + strconv.Itoa(int(port))
}

// exchange sends raw bytes on a new connection and reads every response
// until the connection closes or goes quiet.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.String()
		}
	}
}

func TestHTTP1Framing(t *testing.T) {
	addr := rawNode(t)
	cases := []struct {
		name string
		raw  string
		want []string // in order
		not  []string
	}{
		{"pipelined keep-alive", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
			[]string{"HTTP/1.1 200 OK", "GET /a te=[] cl=0", "HTTP/1.1 200 OK", "GET /b"}, []string{"Connection: close"}},
		{"content-length body", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
			[]string{"HTTP/1.1 200 OK", "Connection: close", "POST /p te=[] cl=5 xff=127.0.0.1 body=hello"}, nil},
		{"chunked body", "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
			[]string{"te=[chunked] cl=-1", "body=abcde"}, nil},
		{"expect continue", "PUT /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nok",
			[]string{"HTTP/1.1 100 Continue", "HTTP/1.1 200 OK", "body=ok"}, nil},
		{"forwarded for", "GET /f HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.9\r\nConnection: close\r\n\r\n",
			[]string{"xff=10.0.0.9, 127.0.0.1"}, nil},
		{"chunked answer", "GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			[]string{"Transfer-Encoding: chunked", "GET /chunked"}, nil},
		{"chunked answer to HTTP/1.0", "GET /chunked HTTP/1.0\r\n\r\n",
			[]string{"HTTP/1.1 200 OK", "Connection: close", "GET /chunked"}, []string{"Transfer-Encoding"}},
		{"HTTP/1.0 keep-alive", "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /k2 HTTP/1.0\r\n\r\n",
			[]string{"Connection: keep-alive", "GET /k ", "Connection: close", "GET /k2"}, nil},
		{"head", "HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", []string{"HTTP/1.1 200 OK", "Content-Length: "}, []string{"HEAD /h te"}},
		{"not modified", "GET /notmodified HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			[]string{"HTTP/1.1 304 Not Modified", "HTTP/1.1 200 OK", "GET /after"}, nil},
		{"absolute form", "GET http://example.com/abs?q=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
			[]string{"GET /abs?q=1 "}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := exchange(t, addr, tc.raw)
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("answer lacks %q (in order):\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Fatalf("answer holds %q:\n%s", n, got)
				}
			}
		})
	}
}

// Requests a proxy and a target could read differently are refused, and
// nothing reaches the target.
func TestHTTP1RefusesAmbiguousRequests(t *testing.T) {
	addr := rawNode(t)
	cases := []struct{ name, raw, status string }{
		{"length and chunked", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"},
		{"two lengths", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "400"},
		{"signed length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", "400"},
		{"gzip coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "501"},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", "400"},
		{"folded field", "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n", "400"},
		{"no host", "GET / HTTP/1.1\r\n\r\n", "400"},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "505"},
		{"garbage", "hello\r\n\r\n", "400"},
		{"head too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", "431"},
		{"bad expect", "GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", "417"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := exchange(t, addr, tc.raw)
			if !strings.HasPrefix(got, "HTTP/1.1 "+tc.status+" ") || !strings.Contains(got, "Connection: close") {
				t.Fatalf("answer = %q; want %s and the connection closed", got, tc.status)
			}
			if strings.Contains(got, "te=") {
				t.Fatalf("the request reached the target: %q", got)
			}
		})
	}
	// A malformed chunked body reaches the target no further than its last
	// whole chunk, and the client connection is dropped.
	got := exchange(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
	if strings.Contains(got, "200 OK") {
		t.Fatalf("a malformed chunk was answered %q", got)
	}
	// A head cut short is not answered before it is whole.
	if got := exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n"); got != "" {
		t.Fatalf("a head cut short was answered %q", got)
	}
}
