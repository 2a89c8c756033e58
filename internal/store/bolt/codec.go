package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/wharf-ecs/wharf/internal/store"
)

// On-disk layout, format 1:
//
//	meta/format     8-byte big-endian format number
//	meta/rev        8-byte big-endian store revision
//	meta/compacted  8-byte big-endian revision up to which history is gone
//	kv/<key>        8-byte big-endian modification revision, then the value
//	log/<rev>       the events of that revision (see appendEvent), absent
//	                when the revision changed no key
//
// Big-endian keeps log keys in revision order under bbolt's bytewise order.
const formatVersion = 1

var (
	bucketMeta = []byte("meta")
	bucketKV   = []byte("kv")
	bucketLog  = []byte("log")

	keyFormat    = []byte("format")
	keyRev       = []byte("rev")
	keyCompacted = []byte("compacted")
)

var errCorrupt = errors.New("bolt: corrupt record")

func encodeRev(rev int64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(rev))
}

func decodeRev(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: revision of %d bytes", errCorrupt, len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// encodeValue allocates a fresh buffer on purpose: bbolt keeps a reference to
// it until commit, and watchers share its tail afterwards.
func encodeValue(rev int64, value []byte) []byte {
	buf := make([]byte, 8, 8+len(value))
	binary.BigEndian.PutUint64(buf, uint64(rev))
	return append(buf, value...)
}

// decodeValue returns a view into b, valid only while b is.
func decodeValue(b []byte) (int64, []byte, error) {
	if len(b) < 8 {
		return 0, nil, fmt.Errorf("%w: value of %d bytes", errCorrupt, len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), b[8:], nil
}

// appendEvent encodes one event of a log record: a type byte, the key's
// length and bytes, and for a put the value's length and bytes. The revision
// is the record's key, so it is not repeated.
func appendEvent(buf []byte, ev store.Event) []byte {
	buf = append(buf, byte(ev.Type))
	buf = binary.AppendUvarint(buf, uint64(len(ev.KV.Key)))
	buf = append(buf, ev.KV.Key...)
	if ev.Type == store.EventPut {
		buf = binary.AppendUvarint(buf, uint64(len(ev.KV.Value)))
		buf = append(buf, ev.KV.Value...)
	}
	return buf
}

// decodeEvents copies out of b, which bbolt owns only for the read
// transaction, the events whose key has the prefix.
func decodeEvents(b []byte, rev int64, prefix string, out []store.Event) ([]store.Event, error) {
	for len(b) > 0 {
		typ := store.EventType(b[0])
		b = b[1:]
		key, rest, err := cutField(b)
		if err != nil {
			return out, err
		}
		b = rest
		var value []byte
		switch typ {
		case store.EventPut:
			value, b, err = cutField(b)
			if err != nil {
				return out, err
			}
		case store.EventDelete:
		default:
			return out, fmt.Errorf("%w: event type %d at revision %d", errCorrupt, typ, rev)
		}
		if !hasPrefix(key, prefix) {
			continue
		}
		ev := store.Event{Type: typ, KV: store.KV{Key: string(key), Revision: rev}}
		if typ == store.EventPut {
			ev.KV.Value = append(make([]byte, 0, len(value)), value...)
		}
		out = append(out, ev)
	}
	return out, nil
}

func cutField(b []byte) (field, rest []byte, err error) {
	n, size := binary.Uvarint(b)
	if size <= 0 || n > uint64(len(b)-size) {
		return nil, nil, fmt.Errorf("%w: field length", errCorrupt)
	}
	b = b[size:]
	return b[:n], b[n:], nil
}

func hasPrefix(key []byte, prefix string) bool {
	return len(key) >= len(prefix) && string(key[:len(prefix)]) == prefix
}
