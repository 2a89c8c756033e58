package docker

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// TestLogs reads a busybox container's output back from Docker: stdout and
// stderr in order with Docker's timestamps, from a line's own timestamp on,
// and followed until the container exits.
func TestLogs(t *testing.T) {
	r := newRuntime(t)
	ctx := testCtx(t)
	id := create(t, r, runtime.ContainerSpec{Image: busyboxImage, Command: []string{"sh", "-c",
		`for i in 1 2 3 4 5; do echo "out $i"; echo "err $i" >&2; done; echo; sleep 1; echo "late line"`}})
	if err := r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	var lines []runtime.LogLine
	err := r.Logs(ctx, id, time.Time{}, true, func(l runtime.LogLine) error {
		l.Text = bytes.Clone(l.Text)
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for i, l := range lines {
		texts = append(texts, string(l.Text))
		if l.Time.IsZero() || i > 0 && l.Time.Before(lines[i-1].Time.Add(-time.Second)) {
			t.Errorf("line %d %q has time %v", i, l.Text, l.Time)
		}
		if l.Stderr != strings.HasPrefix(string(l.Text), "err") {
			t.Errorf("line %q stderr = %v", l.Text, l.Stderr)
		}
	}
	// stdout and stderr are copied separately, so their interleaving may
	// vary; each keeps its own order.
	var out, errs []string
	for _, s := range texts {
		switch {
		case strings.HasPrefix(s, "out"), s == "late line", s == "":
			out = append(out, s)
		default:
			errs = append(errs, s)
		}
	}
	if got := strings.Join(out, ","); got != "out 1,out 2,out 3,out 4,out 5,,late line" {
		t.Errorf("stdout = %q", got)
	}
	if got := strings.Join(errs, ","); got != "err 1,err 2,err 3,err 4,err 5" {
		t.Errorf("stderr = %q", got)
	}
	// From the last line's own timestamp: that line (or one with the same
	// timestamp) first.
	last := lines[len(lines)-1]
	var from []string
	if err := r.Logs(ctx, id, last.Time, false, func(l runtime.LogLine) error {
		from = append(from, string(l.Text))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(from) == 0 || from[len(from)-1] != "late line" || len(from) > 2 {
		t.Errorf("since the last line's time = %q", from)
	}
	err = r.Logs(ctx, "wharf-no-such-container", time.Time{}, false, func(runtime.LogLine) error { return nil })
	if !isNotFound(err) {
		t.Errorf("Logs of a missing container = %v; want ErrNotFound", err)
	}
}

func TestReadMuxedLogs(t *testing.T) {
	var b bytes.Buffer
	frame := func(stream byte, s string) {
		hdr := [8]byte{stream}
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(s)))
		b.Write(hdr[:])
		b.WriteString(s)
	}
	frame(1, "2025-01-02T03:04:05.000000001Z hello\n")
	frame(2, "2025-01-02T03:04:05.000000002Z oops\n")
	frame(1, "2025-01-02T03:04:05.000000003Z \n")
	frame(1, "2025-01-02T03:04:05.000000004Z no newline")
	frame(3, "system error stream")
	var got []string
	err := readMuxedLogs(&b, func(l runtime.LogLine) error {
		got = append(got, fmt.Sprintf("%d %v %q", l.Time.Nanosecond(), l.Stderr, l.Text))
		return nil
	})
	want := []string{`1 false "hello"`, `2 true "oops"`, `3 false ""`, `4 false "no newline"`}
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("readMuxedLogs = %q, %v; want %q", got, err, want)
	}
}
