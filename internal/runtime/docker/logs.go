package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

var _ runtime.LogReader = (*Runtime)(nil)

// Logs reads the container's output through Docker's logs API, with
// Docker's own timestamps (the daemon's, to the nanosecond). It needs a log
// driver Docker can read back (json-file, local, journald): the agent runs
// awslogs containers with json-file and ships the output itself.
func (r *Runtime) Logs(ctx context.Context, id string, since time.Time, follow bool, fn func(runtime.LogLine) error) error {
	info, err := r.cli.ContainerInspect(ctx, id)
	if err != nil {
		return r.fail("logs", id, err)
	}
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Follow: follow}
	if !since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	rc, err := r.cli.ContainerLogs(ctx, id, opts)
	if err != nil {
		return r.fail("logs", id, err)
	}
	defer rc.Close()
	if info.Config != nil && info.Config.Tty {
		err = readRawLogs(rc, fn) // a terminal's output comes unmultiplexed
	} else {
		err = readMuxedLogs(rc, fn)
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// readMuxedLogs reads Docker's multiplexed stream: frames of an 8-byte
// header (the stream: 1 stdout, 2 stderr; three zero bytes; the length,
// big-endian) and the payload, one log message with its timestamp.
func readMuxedLogs(rd io.Reader, fn func(runtime.LogLine) error) error {
	br := bufio.NewReaderSize(rd, 64<<10)
	var hdr [8]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("docker logs: read frame header: %w", err)
		}
		n := binary.BigEndian.Uint32(hdr[4:])
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return fmt.Errorf("docker logs: read frame: %w", err)
		}
		if hdr[0] != 1 && hdr[0] != 2 {
			continue // stdin, or the system error stream
		}
		// One frame is one message; its line ending is not part of it.
		l, ok := parseLine(bytes.TrimSuffix(buf, []byte("\n")))
		if !ok {
			continue
		}
		l.Stderr = hdr[0] == 2
		if err := fn(l); err != nil {
			return err
		}
	}
}

// readRawLogs reads the output of a container with a terminal: lines, each
// with its timestamp.
func readRawLogs(rd io.Reader, fn func(runtime.LogLine) error) error {
	br := bufio.NewReaderSize(rd, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line beyond the buffer: take it whole.
			rest, err2 := br.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), rest...), err2
		}
		if len(line) > 0 {
			if l, ok := parseLine(bytes.TrimRight(line, "\r\n")); ok {
				if ferr := fn(l); ferr != nil {
					return ferr
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("docker logs: %w", err)
		}
	}
}

// parseLine splits "TIMESTAMP TEXT" as Docker writes it with timestamps on.
func parseLine(b []byte) (runtime.LogLine, bool) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		i = len(b)
	}
	t, err := time.Parse(time.RFC3339Nano, string(b[:i]))
	if err != nil {
		return runtime.LogLine{}, false
	}
	text := b[min(i+1, len(b)):]
	return runtime.LogLine{Time: t, Text: bytes.TrimSuffix(text, []byte("\r"))}, true
}
