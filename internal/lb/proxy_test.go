package lb_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/lb"
	"github.com/wharf-ecs/wharf/internal/state"
)

// source hands a node the configurations a test sets.
type source struct {
	mu   sync.Mutex
	c    *lb.Config
	wake chan struct{}
}

func newSource() *source { return &source{c: &lb.Config{}, wake: make(chan struct{})} }

func (s *source) set(c *lb.Config) {
	s.mu.Lock()
	c.Revision = s.c.Revision + 1
	s.c = c
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

func (s *source) Next(ctx context.Context, since int64, wait time.Duration) (*lb.Config, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		c, wake := s.c, s.wake
		s.mu.Unlock()
		if c.Revision > since {
			return c, nil
		}
		select {
		case <-wake:
		case <-timer.C:
			return c, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// startNode runs a node on loopback following src.
func startNode(t *testing.T, src lb.Source) *lb.Node {
	t.Helper()
	n := lb.NewNode(lb.NodeConfig{Source: src, Address: "127.0.0.1", PollWait: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return n
}

// apply sets c and waits until the node serves it.
func apply(t *testing.T, src *source, n *lb.Node, c *lb.Config) {
	t.Helper()
	src.set(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.WaitRevision(ctx, c.Revision); err != nil {
		t.Fatalf("the node did not apply revision %d: %v", c.Revision, err)
	}
}

// named is a backend answering "NAME PATH" (and echoing request bodies and
// the forwarding headers on /echo).
func named(t *testing.T, name string) lb.Target {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s host=%s xff=%s proto=%s port=%s body=%s", name, r.Host, r.Header.Get("X-Forwarded-For"),
				r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Port"), b)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
			fmt.Fprint(w, name)
		case "/stream":
			fl := w.(http.Flusher)
			for i := range 3 {
				fmt.Fprintf(w, "%s-%d;", name, i)
				fl.Flush()
			}
		default:
			fmt.Fprintf(w, "%s %s", name, r.URL.Path)
		}
	}))
	t.Cleanup(srv.Close)
	return target(name, srv.Listener.Addr().(*net.TCPAddr).Port)
}

func target(id string, port int) lb.Target {
	return lb.Target{ID: id, Port: int32(port), Address: "127.0.0.1", Health: state.TargetHealthy}
}

func freePort(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

func alb(port int32, rules ...lb.Rule) lb.LoadBalancer {
	return lb.LoadBalancer{Arn: "lb", Name: "front", Type: "application", IdleTimeout: time.Minute,
		Listeners: []lb.Listener{{Arn: "l", Port: port, Protocol: "HTTP", Rules: rules}}}
}

func forward(arn string) []state.ELBAction {
	return []state.ELBAction{{Type: "forward", TargetGroupArn: arn}}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHTTPRoundRobinAndRules(t *testing.T) {
	src := newSource()
	n := startNode(t, src)
	port := freePort(t)
	a, b, c, api := named(t, "a"), named(t, "b"), named(t, "c"), named(t, "api")
	apply(t, src, n, &lb.Config{
		LoadBalancers: []lb.LoadBalancer{alb(port,
			lb.Rule{Priority: 1, Conditions: []state.RuleCondition{{Field: "path-pattern", Values: []string{"/api/*"}}}, Actions: forward("api")},
			lb.Rule{Priority: 2, Conditions: []state.RuleCondition{{Field: "host-header", Values: []string{"fixed.example.com"}}},
				Actions: []state.ELBAction{{Type: "fixed-response", FixedResponse: &state.FixedResponse{StatusCode: "418", ContentType: "text/plain", MessageBody: "teapot"}}}},
			lb.Rule{Actions: forward("web")},
		)},
		TargetGroups: []lb.TargetGroup{
			{Arn: "web", InUse: true, Targets: []lb.Target{a, b, c}},
			{Arn: "api", InUse: true, Targets: []lb.Target{api}},
		},
	})
	base := "http://127.0.0.1:" + strconv.Itoa(int(port))
	counts := map[string]int{}
	for range 30 {
		code, body := get(t, base+"/")
		if code != 200 {
			t.Fatalf("GET / = %d %s", code, body)
		}
		counts[strings.Fields(body)[0]]++
	}
	if counts["a"] != 10 || counts["b"] != 10 || counts["c"] != 10 {
		t.Errorf("30 requests went %v; want 10 to each target (round robin)", counts)
	}
	if code, body := get(t, base+"/api/users"); code != 200 || body != "api /api/users" {
		t.Errorf("GET /api/users = %d %q; want the api target group", code, body)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.Host = "FIXED.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 418 || string(body) != "teapot" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("fixed response = %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}

	// Bodies, forwarding headers, chunked uploads and streamed answers.
	resp, err = http.Post(base+"/echo", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "host=127.0.0.1:" + strconv.Itoa(int(port)) + " xff=127.0.0.1 proto=http port=" + strconv.Itoa(int(port)) + " body=hello"
	if !strings.HasSuffix(string(body), want) {
		t.Errorf("POST /echo = %q; want it to end %q", body, want)
	}
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("chunk-one,"))
		pw.Write([]byte("chunk-two"))
		pw.Close()
	}()
	resp, err = http.Post(base+"/echo", "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasSuffix(string(body), "body=chunk-one,chunk-two") {
		t.Errorf("chunked POST /echo = %q", body)
	}
	if code, body := get(t, base+"/stream"); code != 200 || !strings.HasSuffix(body, "-0;"+body[:1]+"-1;"+body[:1]+"-2;") {
		t.Errorf("GET /stream = %d %q", code, body)
	}

	// A target group with no targets answers 503.
	apply(t, src, n, &lb.Config{
		LoadBalancers: []lb.LoadBalancer{alb(port, lb.Rule{Actions: forward("empty")})},
		TargetGroups:  []lb.TargetGroup{{Arn: "empty", InUse: true}},
	})
	if code, _ := get(t, base+"/"); code != http.StatusServiceUnavailable {
		t.Errorf("no targets: GET / = %d; want 503", code)
	}
}

func TestHTTPFailoverAndHealth(t *testing.T) {
	src := newSource()
	n := startNode(t, src)
	port := freePort(t)
	a, b := named(t, "a"), named(t, "b")
	dead := target("dead", int(freePort(t))) // nothing listens there
	sick := named(t, "sick")
	sick.Health = state.TargetUnhealthy
	apply(t, src, n, &lb.Config{
		LoadBalancers: []lb.LoadBalancer{alb(port, lb.Rule{Actions: forward("web")})},
		TargetGroups:  []lb.TargetGroup{{Arn: "web", InUse: true, Targets: []lb.Target{a, dead, b, sick}}},
	})
	base := "http://127.0.0.1:" + strconv.Itoa(int(port))
	counts := map[string]int{}
	for range 40 {
		code, body := get(t, base+"/")
		if code != 200 {
			t.Fatalf("GET / = %d %q; want every request served though one target refuses connections", code, body)
		}
		counts[strings.Fields(body)[0]]++
	}
	if counts["sick"] != 0 || counts["a"] == 0 || counts["b"] == 0 {
		t.Errorf("requests went %v; want a and b only (not the unhealthy target)", counts)
	}
	// With no healthy target, every target takes requests (fail open).
	a.Health, b.Health = state.TargetUnhealthy, state.TargetInitial
	apply(t, src, n, &lb.Config{
		LoadBalancers: []lb.LoadBalancer{alb(port, lb.Rule{Actions: forward("web")})},
		TargetGroups:  []lb.TargetGroup{{Arn: "web", InUse: true, Targets: []lb.Target{a, b, sick}}},
	})
	counts = map[string]int{}
	for range 30 {
		_, body := get(t, base+"/")
		counts[strings.Fields(body)[0]]++
	}
	if counts["a"] != 10 || counts["b"] != 10 || counts["sick"] != 10 {
		t.Errorf("failing open, requests went %v; want 10 to each", counts)
	}
}

func TestHTTPDraining(t *testing.T) {
	src := newSource()
	n := startNode(t, src)
	port := freePort(t)
	a, b := named(t, "a"), named(t, "b")
	cfg := func(b lb.Target) *lb.Config {
		return &lb.Config{
			LoadBalancers: []lb.LoadBalancer{alb(port, lb.Rule{Actions: forward("web")})},
			TargetGroups:  []lb.TargetGroup{{Arn: "web", InUse: true, LeastOutstanding: true, Targets: []lb.Target{a, b}}},
		}
	}
	apply(t, src, n, cfg(b))
	base := "http://127.0.0.1:" + strconv.Itoa(int(port))
	// Slow requests in flight on both targets; then b drains.
	var wg sync.WaitGroup
	results := make(chan string, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := get(t, base+"/slow")
			results <- strconv.Itoa(code) + " " + body
		}()
	}
	time.Sleep(100 * time.Millisecond)
	until := time.Now().Add(time.Minute)
	b.DrainUntil = &until
	apply(t, src, n, cfg(b))
	for range 10 {
		if _, body := get(t, base+"/"); !strings.HasPrefix(body, "a ") {
			t.Fatalf("a request after b began draining went to %q; want a", body)
		}
	}
	wg.Wait()
	close(results)
	served := map[string]int{}
	for r := range results {
		served[r]++
	}
	// Least outstanding requests spread the four slow ones two and two, and
	// b's finished although it was draining.
	if served["200 a"] != 2 || served["200 b"] != 2 {
		t.Errorf("slow requests answered %v; want two by a and two by b, all 200", served)
	}
}

func TestHTTPUpgrade(t *testing.T) {
	// A backend that switches protocols and then echoes lines.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil || req.Header.Get("Upgrade") != "echo" {
					return
				}
				fmt.Fprint(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					fmt.Fprint(c, "echo:"+line)
				}
			}()
		}
	}()
	src := newSource()
	n := startNode(t, src)
	port := freePort(t)
	apply(t, src, n, &lb.Config{
		LoadBalancers: []lb.LoadBalancer{alb(port, lb.Rule{Actions: forward("ws")})},
		TargetGroups:  []lb.TargetGroup{{Arn: "ws", InUse: true, Targets: []lb.Target{target("ws", ln.Addr().(*net.TCPAddr).Port)}}},
	})
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answer = %v, %v; want 101", resp, err)
	}
	fmt.Fprint(c, "hello\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := br.ReadString('\n'); err != nil || line != "echo:hello\n" {
		t.Fatalf("after the upgrade read %q, %v; want the echo", line, err)
	}
}

func TestTCPProxy(t *testing.T) {
	echo := func(name string) lb.Target {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					line, _ := bufio.NewReader(c).ReadString('\n')
					fmt.Fprintf(c, "%s:%s", name, line)
				}()
			}
		}()
		return target(name, ln.Addr().(*net.TCPAddr).Port)
	}
	src := newSource()
	n := startNode(t, src)
	port := freePort(t)
	dead := target("dead", int(freePort(t)))
	apply(t, src, n, &lb.Config{
		LoadBalancers: []lb.LoadBalancer{{Arn: "nlb", Name: "tcp", Type: "network",
			Listeners: []lb.Listener{{Arn: "l", Port: port, Protocol: "TCP", Rules: []lb.Rule{{Actions: forward("db")}}}}}},
		TargetGroups: []lb.TargetGroup{{Arn: "db", Protocol: "TCP", InUse: true, Targets: []lb.Target{echo("x"), dead, echo("y")}}},
	})
	counts := map[string]int{}
	for i := range 20 {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "ping %d\n", i)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || !strings.HasSuffix(line, fmt.Sprintf(":ping %d\n", i)) {
			t.Fatalf("connection %d read %q, %v; want an echo", i, line, err)
		}
		counts[line[:1]]++
	}
	if counts["x"] == 0 || counts["y"] == 0 || counts["x"]+counts["y"] != 20 {
		t.Errorf("connections went %v; want both echo targets", counts)
	}
}
