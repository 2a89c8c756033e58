package execproto

import (
	"bytes"
	"encoding/binary"
	"io"
	"strconv"
	"testing"
)

func TestFrames(t *testing.T) {
	var b bytes.Buffer
	for _, f := range []struct {
		typ byte
		p   []byte
	}{{Stdout, []byte("hello")}, {StdinEOF, nil}, {Resize, ResizeFrame(120, 40)}, {Exit, ExitFrame(-3)}} {
		if err := WriteFrame(&b, f.typ, f.p); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"4:hello", "2:", "3:120x40", "6:-3"}
	for i, w := range want {
		typ, p, err := ReadFrame(&b)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		var got string
		switch typ {
		case Resize:
			c, r, _ := ResizeSize(p)
			got = "3:" + strconv.Itoa(int(c)) + "x" + strconv.Itoa(int(r))
		case Exit:
			got = "6:" + strconv.Itoa(ExitCode(p))
		default:
			got = strconv.Itoa(int(typ)) + ":" + string(p)
		}
		if got != w {
			t.Errorf("frame %d = %q; want %q", i, got, w)
		}
	}
	if _, _, err := ReadFrame(&b); err != io.EOF {
		t.Errorf("after the last frame: %v; want EOF", err)
	}
	// A frame claiming more than MaxFrame is refused before reading it.
	var h [5]byte
	h[0] = Stdout
	binary.BigEndian.PutUint32(h[1:], MaxFrame+1)
	if _, _, err := ReadFrame(bytes.NewReader(h[:])); err == nil {
		t.Error("an oversized frame was read")
	}
	if err := WriteFrame(io.Discard, Stdout, make([]byte, MaxFrame+1)); err == nil {
		t.Error("an oversized frame was written")
	}
	if _, _, ok := ResizeSize([]byte{1}); ok {
		t.Error("a short resize frame was read")
	}
}
