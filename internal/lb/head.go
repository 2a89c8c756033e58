package lb

import (
	"bufio"
	"bytes"
	"errors"
	"strconv"
)

// HTTP/1.1 message heads, parsed in place: a head's bytes are copied once
// into its buffer and every part of it is a span of that buffer, so that
// reading a request or a response allocates nothing once the buffers have
// grown. The parser is strict where leniency lets a request mean one thing
// to the proxy and another to the target (request smuggling): conflicting
// or malformed Content-Length, Transfer-Encoding beside Content-Length,
// transfer codings other than chunked, obsolete line folding, whitespace
// before a colon, and a missing or repeated Host are refused.

// maxHead bounds a head's size, request line and fields (ALB's is 64 KiB).
const maxHead = 64 << 10

// span is a part of a head's buffer.
type span struct{ lo, hi int }

func (s span) empty() bool { return s.hi <= s.lo }

type field struct{ name, value span }

// head is a parsed request or response head.
type head struct {
	buf    []byte
	first  [3]span // method, target, version; or version, status, reason
	fields []field

	http10     bool
	status     int
	contentLen int64 // -1: none given
	chunked    bool
	closeConn  bool // Connection: close
	keepAlive  bool // Connection: keep-alive
	connUpg    bool // Connection: upgrade
	upgrade    span // the Upgrade field's value
	expect     bool // Expect: 100-continue
	host       span
	hosts      int
	named      []span // the field names Connection lists
}

// errors of parsing, each answered with its status.
type headError struct {
	status int
	msg    string
}

func (e *headError) Error() string { return e.msg }

func badHead(msg string) error { return &headError{400, msg} }

var errHeadTooLarge = &headError{431, "the request head is too large"}

func (h *head) reset() {
	h.buf = h.buf[:0]
	h.fields = h.fields[:0]
	h.named = h.named[:0]
	h.first = [3]span{}
	h.http10, h.chunked, h.closeConn, h.keepAlive, h.connUpg, h.expect = false, false, false, false, false, false
	h.status, h.hosts = 0, 0
	h.contentLen = -1
	h.upgrade, h.host = span{}, span{}
}

func (h *head) bytes(s span) []byte { return h.buf[s.lo:s.hi] }
func (h *head) str(s span) string   { return string(h.buf[s.lo:s.hi]) }

// readLine appends the next line, without its line ending, to h.buf.
func (h *head) readLine(br *bufio.Reader) (span, error) {
	lo := len(h.buf)
	for {
		frag, err := br.ReadSlice('\n')
		if len(h.buf)+len(frag) > maxHead {
			return span{}, errHeadTooLarge
		}
		h.buf = append(h.buf, frag...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(h.buf) > lo {
			return span{}, badHead("the head ends in the middle of a line")
		}
		return span{}, err
	}
	hi := len(h.buf) - 1
	if hi > lo && h.buf[hi-1] == '\r' {
		hi--
	}
	return span{lo, hi}, nil
}

// readRequest reads a request head. io.EOF before its first byte means the
// client closed an idle connection.
func (h *head) readRequest(br *bufio.Reader) error {
	h.reset()
	var line span
	var err error
	for i := 0; ; i++ {
		if line, err = h.readLine(br); err != nil {
			return err
		}
		if !line.empty() {
			break
		}
		if i >= 4 { // a few empty lines before a request are tolerated
			return badHead("empty lines instead of a request")
		}
	}
	b := h.bytes(line)
	sp1 := bytes.IndexByte(b, ' ')
	sp2 := bytes.LastIndexByte(b, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 {
		return badHead("malformed request line")
	}
	h.first[0] = span{line.lo, line.lo + sp1}
	h.first[1] = span{line.lo + sp1 + 1, line.lo + sp2}
	h.first[2] = span{line.lo + sp2 + 1, line.hi}
	for _, c := range h.bytes(h.first[0]) {
		if !tokenChar(c) {
			return badHead("malformed method")
		}
	}
	for _, c := range h.bytes(h.first[1]) {
		if c <= ' ' || c == 0x7f {
			return badHead("malformed request target")
		}
	}
	switch string(h.bytes(h.first[2])) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		h.http10 = true
	default:
		return &headError{505, "only HTTP/1.0 and HTTP/1.1 are served"}
	}
	if err := h.readFields(br); err != nil {
		return err
	}
	switch {
	case h.hosts > 1:
		return badHead("more than one Host field")
	case h.hosts == 0 && !h.http10:
		return badHead("an HTTP/1.1 request needs a Host field")
	case h.chunked && h.contentLen >= 0:
		return badHead("both Transfer-Encoding and Content-Length")
	case h.chunked && h.http10:
		return badHead("Transfer-Encoding in an HTTP/1.0 request")
	}
	return nil
}

// readResponse reads a response head.
func (h *head) readResponse(br *bufio.Reader) error {
	h.reset()
	line, err := h.readLine(br)
	if err != nil {
		return err
	}
	b := h.bytes(line)
	if len(b) < 12 || !bytes.HasPrefix(b, []byte("HTTP/1.")) || b[8] != ' ' {
		return badHead("malformed status line")
	}
	h.http10 = b[7] == '0'
	code, err := strconv.Atoi(string(b[9:12]))
	if err != nil || code < 100 || code > 999 || len(b) > 12 && b[12] != ' ' {
		return badHead("malformed status code")
	}
	h.status = code
	h.first[0] = span{line.lo, line.lo + 8}
	h.first[1] = span{line.lo + 9, line.lo + 12}
	if len(b) > 13 {
		h.first[2] = span{line.lo + 13, line.hi}
	}
	if err := h.readFields(br); err != nil {
		return err
	}
	if h.chunked {
		h.contentLen = -1 // Transfer-Encoding wins
	}
	return nil
}

// readFields reads the fields up to the empty line and interprets those
// that frame the message or concern the connection.
func (h *head) readFields(br *bufio.Reader) error {
	for {
		line, err := h.readLine(br)
		if err != nil {
			if errors.Is(err, errHeadTooLarge) {
				return err
			}
			return badHead("the head ends early")
		}
		if line.empty() {
			return nil
		}
		b := h.bytes(line)
		if b[0] == ' ' || b[0] == '\t' {
			return badHead("obsolete line folding")
		}
		colon := bytes.IndexByte(b, ':')
		if colon <= 0 {
			return badHead("a field without a name")
		}
		for _, c := range b[:colon] {
			if !tokenChar(c) {
				return badHead("a malformed field name")
			}
		}
		vlo, vhi := line.lo+colon+1, line.hi
		for vlo < vhi && (h.buf[vlo] == ' ' || h.buf[vlo] == '\t') {
			vlo++
		}
		for vhi > vlo && (h.buf[vhi-1] == ' ' || h.buf[vhi-1] == '\t') {
			vhi--
		}
		f := field{name: span{line.lo, line.lo + colon}, value: span{vlo, vhi}}
		h.fields = append(h.fields, f)
		if err := h.interpret(f); err != nil {
			return err
		}
	}
}

func (h *head) interpret(f field) error {
	name, value := h.bytes(f.name), h.bytes(f.value)
	switch {
	case asciiEqualFold(name, "Content-Length"):
		if len(value) == 0 || len(value) > 18 {
			return badHead("malformed Content-Length")
		}
		var n int64
		for _, c := range value {
			if c < '0' || c > '9' {
				return badHead("malformed Content-Length")
			}
			n = n*10 + int64(c-'0')
		}
		if h.contentLen >= 0 && h.contentLen != n {
			return badHead("conflicting Content-Length fields")
		}
		h.contentLen = n
	case asciiEqualFold(name, "Transfer-Encoding"):
		if h.chunked {
			return &headError{501, "more than one Transfer-Encoding field"}
		}
		last := value
		if i := bytes.LastIndexByte(value, ','); i >= 0 {
			if h.status == 0 {
				return &headError{501, "transfer codings other than chunked"}
			}
			last = bytes.TrimSpace(value[i+1:])
		}
		if !asciiEqualFold(last, "chunked") {
			if h.status == 0 {
				return &headError{501, "transfer codings other than chunked"}
			}
			h.closeConn = true // delimited by the connection's end
			return nil
		}
		h.chunked = true
	case asciiEqualFold(name, "Connection"):
		for _, tok := range bytes.Split(value, []byte(",")) {
			tok = bytes.TrimSpace(tok)
			switch {
			case len(tok) == 0:
			case asciiEqualFold(tok, "close"):
				h.closeConn = true
			case asciiEqualFold(tok, "keep-alive"):
				h.keepAlive = true
			case asciiEqualFold(tok, "upgrade"):
				h.connUpg = true
			default:
				off := f.value.lo + bytes.Index(value, tok)
				h.named = append(h.named, span{off, off + len(tok)})
			}
		}
	case asciiEqualFold(name, "Upgrade"):
		h.upgrade = f.value
	case asciiEqualFold(name, "Expect"):
		if !asciiEqualFold(value, "100-continue") {
			return &headError{417, "only Expect: 100-continue is understood"}
		}
		h.expect = true
	case asciiEqualFold(name, "Host"):
		h.hosts++
		h.host = f.value
	}
	return nil
}

// hop reports whether a field belongs to the connection, not the message:
// it is not forwarded either way.
func (h *head) hop(f field) bool {
	name := h.bytes(f.name)
	switch len(name) {
	case 2:
		return asciiEqualFold(name, "TE")
	case 7:
		return asciiEqualFold(name, "Trailer") || asciiEqualFold(name, "Upgrade")
	case 10:
		return asciiEqualFold(name, "Connection") || asciiEqualFold(name, "Keep-Alive")
	case 14:
		return asciiEqualFold(name, "Content-Length")
	case 16:
		return asciiEqualFold(name, "Proxy-Connection")
	case 17:
		return asciiEqualFold(name, "Transfer-Encoding")
	}
	for _, n := range h.named {
		if bytes.EqualFold(name, h.bytes(n)) {
			return true
		}
	}
	return false
}

func (h *head) is(f field, name string) bool { return asciiEqualFold(h.bytes(f.name), name) }

// asciiEqualFold compares b with s, ignoring ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if d >= 'A' && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// tokenChar reports whether c may appear in a method or field name.
func tokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}
