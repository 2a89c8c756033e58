package bolt_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

// crashChildEnv, when set, turns the test binary into the writer that
// TestCrashKeepsAcknowledgedWrites kills; its value is "path round".
const crashChildEnv = "WHARF_BOLT_CRASH_CHILD"

// TestCrashKeepsAcknowledgedWrites kills a committing process with SIGKILL,
// several times over the same file, and checks that every commit it
// acknowledged is there afterwards with the revision it was given.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if arg := os.Getenv(crashChildEnv); arg != "" {
		crashChild(arg)
		return
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	acked := map[string]int64{}
	for round := range 3 {
		n := crashRound(t, path, round, acked)
		t.Logf("round %d: %d commits acknowledged before SIGKILL", round, n)

		s, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			t.Fatalf("reopen after round %d: %v", round, err)
		}
		var maxRev int64
		for key, rev := range acked {
			kv, err := s.Get(t.Context(), key)
			if err != nil || kv.Revision != rev || string(kv.Value) != key {
				t.Fatalf("round %d: acknowledged %q at revision %d; after the crash Get = %+v, %v", round, key, rev, kv, err)
			}
			maxRev = max(maxRev, rev)
		}
		if rev, err := s.Revision(t.Context()); err != nil || rev < maxRev {
			t.Fatalf("round %d: Revision() = %d, %v; want at least %d", round, rev, err, maxRev)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// crashRound runs one child until it has acknowledged enough commits, kills
// it, and records every acknowledgement it printed before dying.
func crashRound(t *testing.T, path string, round int, acked map[string]int64) int {
	const killAfter = 300
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledgedWrites$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", crashChildEnv, path, round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Never leave a child behind, whatever happens below.
	defer func() { _ = cmd.Process.Kill() }()

	n := 0
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var rev int64
		var key string
		if _, err := fmt.Sscanf(sc.Text(), "ack %d %s", &rev, &key); err != nil {
			t.Fatalf("child printed %q: %v", sc.Text(), err)
		}
		if _, dup := acked[key]; dup {
			t.Fatalf("child acknowledged %q twice", key)
		}
		acked[key] = rev
		n++
		// Keep reading after the kill: lines already in the pipe were
		// acknowledged before the process died.
		if n == killAfter && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !killed || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v before being killed (%d acks); stderr:\n%s", err, n, stderr.String())
	}
	return n
}

// crashChild commits forever from several goroutines, so that the kill
// lands in the middle of group commits, and prints each acknowledgement.
func crashChild(arg string) {
	var path string
	var round int
	if _, err := fmt.Sscanf(arg, "%s %d", &path, &round); err != nil {
		fmt.Fprintln(os.Stderr, "bad", crashChildEnv, arg, err)
		os.Exit(2)
	}
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Should the parent vanish, do not run forever.
	time.AfterFunc(time.Minute, func() { os.Exit(3) })
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("crash/%d/%d/%06d", round, g, i)
				rev, err := s.Commit(context.Background(), store.Txn{
					Conds: []store.Cond{{Key: key}},
					Ops:   []store.Op{{Key: key, Value: []byte(key)}},
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				// One write per line: the pipe keeps writes under 4 KiB whole.
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d %s\n", rev, key)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
