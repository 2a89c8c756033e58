package agent

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
	"unicode/utf8"
)

// Limits of one PutLogEvents batch. CloudWatch counts a batch as its
// messages plus 26 bytes an event, up to 1,048,576; Wharf's server also
// bounds a request body to 1 MiB, so the JSON is kept under that with room.
const (
	maxBatchEvents   = 10_000
	maxBatchBytes    = 1_048_576
	maxBatchBody     = 1_000_000
	maxBatchSpan     = 23 * 60 * 60 * 1000 // ms; CloudWatch refuses more than 24 hours
	eventOverhead    = 26
	maxMessageBytes  = 256*1024 - eventOverhead // as Docker's awslogs driver splits
	truncatedMessage = " [truncated by the Wharf agent]"
)

// rawBody is a request body already encoded as JSON.
type rawBody []byte

// batch is a PutLogEvents request being built. Its body is encoded as
// events are added, so its size is known exactly and nothing is encoded
// twice.
type batch struct {
	head    []byte // the body up to the events
	body    []byte
	events  int
	bytes   int // as CloudWatch counts them
	lines   int // lines read, empty ones included
	firstMs int64
	lastMs  int64
	end     cursor // the cursor after the batch's last line
	sum     hash.Hash
	scratch []byte
}

func newBatch(t logTarget) *batch {
	head := []byte(`{"logGroupName":`)
	head = appendJSONString(head, []byte(t.group))
	head = append(head, `,"logStreamName":`...)
	head = appendJSONString(head, []byte(t.stream))
	head = append(head, `,"logEvents":[`...)
	b := &batch{head: head, sum: sha256.New()}
	b.reset()
	return b
}

func (b *batch) reset() {
	b.body = append(b.body[:0], b.head...)
	b.events, b.bytes, b.lines = 0, 0, 0
	b.sum.Reset()
}

// fits reports whether an event of msg at ms can join the batch.
func (b *batch) fits(ms int64, msg []byte) bool {
	if b.events == 0 {
		return true
	}
	b.scratch = encodeEvent(b.scratch[:0], ms, msg)
	return b.events < maxBatchEvents && b.bytes+len(msg)+eventOverhead <= maxBatchBytes &&
		len(b.body)+1+len(b.scratch)+2 <= maxBatchBody && ms-b.firstMs <= maxBatchSpan
}

// add appends a line: an event unless it is empty (CloudWatch takes no
// empty messages), and its cursor either way.
func (b *batch) add(ms int64, msg []byte, end cursor) {
	b.lines++
	b.end = end
	if len(msg) == 0 {
		return
	}
	if b.events > 0 {
		b.body = append(b.body, ',')
	} else {
		b.firstMs = ms
	}
	b.body = encodeEvent(b.body, ms, msg)
	b.events++
	b.bytes += len(msg) + eventOverhead
	b.lastMs = ms
	hashEvent(b.sum, ms, msg)
}

// request is the finished body.
func (b *batch) request() rawBody { return append(b.body, "]}"...) }

func (b *batch) hash() string { return hex.EncodeToString(b.sum.Sum(nil)) }

// hashEvent feeds an event into the hash that identifies a batch.
func hashEvent(h hash.Hash, ms int64, msg []byte) {
	var hdr [12]byte
	binary.BigEndian.PutUint64(hdr[:8], uint64(ms))
	binary.BigEndian.PutUint32(hdr[8:], uint32(len(msg)))
	h.Write(hdr[:])
	h.Write(msg)
}

func encodeEvent(dst []byte, ms int64, msg []byte) []byte {
	dst = append(dst, `{"timestamp":`...)
	dst = strconv.AppendInt(dst, ms, 10)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, msg)
	return append(dst, '}')
}

// message is a line as an event's message: valid UTF-8 (each byte that is
// not becomes U+FFFD, as the server would read it), and at most
// maxMessageBytes, or a sixth of that when it is mostly control characters,
// which JSON escapes to six bytes each: one event always fits a request.
func message(line []byte) []byte {
	if !utf8.Valid(line) {
		line = toValidUTF8(line)
	}
	limit := maxMessageBytes
	if len(line) > maxMessageBytes/6 && escapedLen(line) > maxBatchBody/2 {
		limit = maxMessageBytes / 6
	}
	if len(line) <= limit {
		return line
	}
	cut := limit - len(truncatedMessage)
	for cut > 0 && !utf8.RuneStart(line[cut]) {
		cut--
	}
	return append(line[:cut:cut], truncatedMessage...)
}

func toValidUTF8(s []byte) []byte {
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\ufffd"...)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return out
}

// escapedLen is the length of s as a JSON string's contents.
func escapedLen(s []byte) int {
	n := len(s)
	for _, c := range s {
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n++
		case c < 0x20:
			n += 5
		}
	}
	return n
}

// appendJSONString appends s as a JSON string. Bytes that are not UTF-8
// become U+FFFD, as encoding/json does, so the body is valid UTF-8, which
// the server requires.
func appendJSONString(dst, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
