package lb

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
)

type recordingSink struct {
	mu      sync.Mutex
	reports []HealthReport
}

func (s *recordingSink) ReportHealth(_ context.Context, r []HealthReport) error {
	s.mu.Lock()
	s.reports = append(s.reports, r...)
	s.mu.Unlock()
	return nil
}

func (s *recordingSink) states() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.reports {
		out = append(out, r.State)
	}
	return strings.Join(out, ",")
}

func TestHealthStateMachine(t *testing.T) {
	sink := &recordingSink{}
	c := NewChecker(nil, sink, nil)
	p := &prober{c: c, group: "tg", target: Target{ID: "10.0.0.1", Port: 80}, state: state.TargetInitial,
		hc: state.HealthCheck{HealthyThreshold: 3, UnhealthyThreshold: 2}}
	ctx := context.Background()
	steps := []struct {
		ok   bool
		want string // the reports so far
	}{
		{true, "healthy"},  // one pass makes a new target healthy
		{false, "healthy"}, // one failure is below the threshold
		{true, "healthy"},  // and a pass resets the count
		{false, "healthy"},
		{false, "healthy,unhealthy"}, // two in a row
		{true, "healthy,unhealthy"},
		{true, "healthy,unhealthy"},
		{true, "healthy,unhealthy,healthy"}, // three passes in a row
	}
	for i, s := range steps {
		p.observe(ctx, s.ok, "Target.Timeout", "Request timed out")
		if got := sink.states(); got != s.want {
			t.Fatalf("after check %d (ok %t) reports = %s; want %s", i+1, s.ok, got, s.want)
		}
	}
	if r := sink.reports[1]; r.Reason != "Target.Timeout" || r.Description != "Request timed out" || r.TargetGroupArn != "tg" || r.Port != 80 {
		t.Errorf("unhealthy report = %+v", r)
	}
	// A new target that never passes becomes unhealthy at the threshold.
	sink2 := &recordingSink{}
	p2 := &prober{c: NewChecker(nil, sink2, nil), state: state.TargetInitial, hc: state.HealthCheck{HealthyThreshold: 5, UnhealthyThreshold: 2}}
	p2.observe(ctx, false, "Target.FailedHealthChecks", "Health checks failed")
	p2.observe(ctx, false, "Target.FailedHealthChecks", "Health checks failed")
	if got := sink2.states(); got != "unhealthy" {
		t.Errorf("a new target failing twice reported %q; want unhealthy", got)
	}
}

func TestHealthChecks(t *testing.T) {
	status := 200
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		code := status
		mu.Unlock()
		if r.URL.Path == "/slow" {
			time.Sleep(3 * time.Second)
		}
		if r.Header.Get("User-Agent") != "ELB-HealthChecker/2.0" {
			code = 400
		}
		w.WriteHeader(code)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().(*net.TCPAddr)
	probe := func(hc state.HealthCheck) (bool, string, string) {
		p := &prober{target: Target{Address: "127.0.0.1", Port: int32(addr.Port)}, hc: hc}
		return p.check(context.Background())
	}
	httpHC := state.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/health", TimeoutSeconds: 2, Matcher: "200-299"}
	if ok, _, _ := probe(httpHC); !ok {
		t.Error("an HTTP check answered 200 failed")
	}
	mu.Lock()
	status = 503
	mu.Unlock()
	if ok, reason, desc := probe(httpHC); ok || reason != "Target.ResponseCodeMismatch" || desc != "Health checks failed with these codes: [503]" {
		t.Errorf("an HTTP check answered 503 = %t %s %q", ok, reason, desc)
	}
	slow := httpHC
	slow.Path = "/slow"
	if ok, reason, _ := probe(slow); ok || reason != "Target.Timeout" {
		t.Errorf("a check that timed out = %t %s; want Target.Timeout", ok, reason)
	}
	tcpHC := state.HealthCheck{Protocol: "TCP", Port: "traffic-port", TimeoutSeconds: 2}
	if ok, _, _ := probe(tcpHC); !ok {
		t.Error("a TCP check of a listening port failed")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := &prober{target: Target{Address: "127.0.0.1", Port: int32(closed)}, hc: tcpHC}
	if ok, reason, _ := p.check(context.Background()); ok || reason != "Target.FailedHealthChecks" {
		t.Errorf("a TCP check of a closed port = %t %s; want Target.FailedHealthChecks", ok, reason)
	}
}
