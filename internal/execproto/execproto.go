// Package execproto is the stream of a `wharf exec` session. The client and
// the task's agent each open an HTTP request to the server that upgrades to
// a raw byte stream (Upgrade: wharf-exec); the server joins the two and
// copies bytes both ways, so agents behind NAT need only reach the server.
// On the joined stream the two ends exchange frames: a type byte, a 32-bit
// big-endian length and that many bytes of payload.
package execproto

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Path is the route of the streams: Path + CLUSTER/TASK-ID/SESSION-ID, with
// ?role=client or ?role=agent.
const Path = "/wharf/exec/"

// Upgrade is the protocol named in the Upgrade header.
const Upgrade = "wharf-exec"

// Roles of the two ends.
const (
	RoleClient = "client"
	RoleAgent  = "agent"
)

// Frame types.
const (
	Stdin    byte = 1 // client → agent: input
	StdinEOF byte = 2 // client → agent: no more input
	Resize   byte = 3 // client → agent: terminal size, two uint16 (columns, rows)
	Stdout   byte = 4 // agent → client
	Stderr   byte = 5 // agent → client
	Exit     byte = 6 // agent → client: the exit code, int32; the last frame
	Failed   byte = 7 // agent → client: why the command could not run; the last frame
)

// MaxFrame bounds a frame's payload.
const MaxFrame = 1 << 20

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, typ byte, payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("exec frame of %d bytes exceeds %d", len(payload), MaxFrame)
	}
	var h [5]byte
	h[0] = typ
	binary.BigEndian.PutUint32(h[1:], uint32(len(payload)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (typ byte, payload []byte, err error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > MaxFrame {
		return 0, nil, fmt.Errorf("exec frame of %d bytes exceeds %d", n, MaxFrame)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return h[0], payload, nil
}

// ExitFrame is the payload of an Exit frame.
func ExitFrame(code int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(int32(code))) }

// ExitCode reads an Exit frame's payload.
func ExitCode(p []byte) int {
	if len(p) < 4 {
		return -1
	}
	return int(int32(binary.BigEndian.Uint32(p)))
}

// ResizeFrame is the payload of a Resize frame.
func ResizeFrame(cols, rows uint16) []byte {
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, cols), rows)
}

// ResizeSize reads a Resize frame's payload.
func ResizeSize(p []byte) (cols, rows uint16, ok bool) {
	if len(p) != 4 {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:]), true
}

// Dial opens one end of a session's stream: a POST to endpoint + path that
// the server upgrades. sign signs the request (SigV4, an empty body) when
// credentials are in use. hc must not time requests out (the stream lives
// as long as the command).
func Dial(ctx context.Context, hc *http.Client, endpoint, path string, sign func(*http.Request) error) (io.ReadWriteCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(endpoint, "/")+path, http.NoBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", Upgrade)
	if sign != nil {
		if err := sign(req); err != nil {
			return nil, err
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("the server refused the exec stream (%s): %s", resp.Status, strings.TrimSpace(string(b)))
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return nil, errors.New("the exec stream did not upgrade to a two-way connection")
	}
	return rwc, nil
}

// Hijack upgrades a server request to the raw stream.
func Hijack(w http.ResponseWriter) (io.ReadWriteCloser, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errors.New("the connection cannot be upgraded (HTTP/2?)")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{}) // the stream lasts as long as the command
	if _, err := brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + Upgrade + "\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return &bufferedConn{r: brw.Reader, c: conn}, nil
}

// bufferedConn reads through the hijacked reader, which may hold bytes the
// server read ahead.
type bufferedConn struct {
	r *bufio.Reader
	c io.ReadWriteCloser
}

func (b *bufferedConn) Read(p []byte) (int, error)  { return b.r.Read(p) }
func (b *bufferedConn) Write(p []byte) (int, error) { return b.c.Write(p) }
func (b *bufferedConn) Close() error                { return b.c.Close() }

// Writer writes frames to a stream from several goroutines at once (the
// output and error streams, input and resizes).
type Writer struct {
	mu sync.Mutex
	W  io.Writer
}

// Frame writes one frame.
func (w *Writer) Frame(typ byte, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return WriteFrame(w.W, typ, p)
}

// As is an io.Writer whose writes go out as frames of typ.
func (w *Writer) As(typ byte) io.Writer { return typed{w, typ} }

type typed struct {
	w   *Writer
	typ byte
}

func (t typed) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		n := min(len(rest), MaxFrame)
		if err := t.w.Frame(t.typ, rest[:n]); err != nil {
			return len(p) - len(rest), err
		}
		rest = rest[n:]
	}
	return len(p), nil
}
