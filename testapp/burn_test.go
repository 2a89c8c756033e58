package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestBurnRefusesBadInput(t *testing.T) {
	h := newApp(config{exitCode: -1}).routes()
	for _, path := range []string{"/burn?seconds=0", "/burn?seconds=x", "/burn?seconds=3601", "/burn?cores=0", "/burn?cores=65"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(string(body), "must be a whole number") {
			t.Errorf("GET %s = %d %q; want 400 saying what is allowed", path, rec.Code, body)
		}
	}
}

func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Timing on a shared machine is loose, so the test checks that the burning
// goroutines exist and end, and that they used the CPU at all.
func TestBurnUsesTheCPUForAWhileThenStops(t *testing.T) {
	h := newApp(config{exitCode: -1}).routes()
	base := runtime.NumGoroutine()
	before := cpuTime(t)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/burn?seconds=1&cores=2", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "burning 2 cores for 1s") {
		t.Fatalf("GET /burn = %d %q; want 200 burning 2 cores for 1s", rec.Code, rec.Body.String())
	}
	if n := runtime.NumGoroutine(); n < base+2 {
		t.Errorf("goroutines while burning = %d; want at least %d", n, base+2)
	}
	time.Sleep(500 * time.Millisecond)
	if used := cpuTime(t) - before; used < 100*time.Millisecond {
		t.Errorf("CPU time in half a second of burning 2 cores = %s; want well above 0.1s", used)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("goroutines 5s after a 1s burn = %d; want %d (the burn stops by itself)", n, base)
	}
}
