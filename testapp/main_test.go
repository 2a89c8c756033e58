package main

import (
	"bytes"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const timeout = 5 * time.Second

func TestRunExitsWithConfiguredCode(t *testing.T) {
	var out bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"-port", "0", "-exit-code", "3", "-exit-after", "50ms"}, mapEnv(nil), &out, &out)
	}()
	select {
	case got := <-done:
		if got != 3 {
			t.Errorf("run(-exit-code 3) = %d; want 3 (output %q)", got, out.String())
		}
	case <-time.After(timeout):
		t.Fatal("run(-exit-code 3) did not return")
	}
}

func TestRunHealthcheckIgnoresWorkloadEnv(t *testing.T) {
	// Inside a container the probe inherits EXIT_CODE and friends; it must
	// still only probe (and fail here, as nothing listens on port 1).
	env := mapEnv(map[string]string{"EXIT_CODE": "9", "BURN_CPU": "1"})
	if got := run([]string{"-healthcheck", "http://127.0.0.1:1/", "-healthcheck-timeout", "1s"}, env, &bytes.Buffer{}, &bytes.Buffer{}); got != 1 {
		t.Errorf("run(-healthcheck unreachable) = %d; want 1", got)
	}
}

func TestRunExitsCleanlyOnSIGTERM(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		out := &lineWatcher{want: "listening on", seen: make(chan struct{})}
		args := []string{"-port", "0"}
		if ignore {
			// Ignoring SIGTERM must keep it running; the exit request then
			// ends it, proving it was still alive after the signal.
			args = append(args, "-ignore-sigterm", "-exit-code", "5", "-exit-after", "500ms")
		}
		done := make(chan int, 1)
		go func() { done <- run(args, mapEnv(nil), out, out) }()
		select {
		case <-out.seen:
		case <-time.After(timeout):
			t.Fatalf("run(%q) never listened", args)
		}
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		want := 0
		if ignore {
			want = 5
		}
		select {
		case got := <-done:
			if got != want {
				t.Errorf("run(%q) after SIGTERM = %d; want %d", args, got, want)
			}
		case <-time.After(timeout):
			t.Fatalf("run(%q) did not return after SIGTERM", args)
		}
	}
}

// lineWatcher is an output sink that closes seen once a line containing want
// has been written.
type lineWatcher struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen chan struct{}
	once sync.Once
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}
