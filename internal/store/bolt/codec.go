package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/wharf-ecs/wharf/internal/store"
)

// On-disk layout, format 2:
//
//	meta/format     8-byte big-endian format number
//	meta/rev        8-byte big-endian store revision
//	meta/compacted  8-byte big-endian revision up to which history is gone
//	kv/<key>        8-byte big-endian word, then the value: the word's top
//	                byte says how the value is stored (valueRaw,
//	                valueS2), the other 56 bits are the modification
//	                revision
//	log/<rev>       the events of that revision (see appendEvent), absent
//	                when the revision changed no key
//	dict/<prefix>   the S2 dictionary of the values under keys with that
//	                prefix, as s2.Dict.Bytes writes it (compress.go)
//
// Big-endian keeps log keys in revision order under bbolt's bytewise order.
// Format 1 had no compressed values and no dict bucket, so a format 1 file
// is a format 2 file as it is; Open upgrades the number.
const formatVersion = 2

// How a stored value is kept: the top byte of its revision word.
const (
	valueRaw = 0
	valueS2  = 1

	revBits = 56
	revMask = 1<<revBits - 1
)

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
func encodeValue(rev int64, compressed bool, value []byte) []byte {
	word := uint64(rev)
	if compressed {
		word |= valueS2 << revBits
	}
	buf := make([]byte, 8, 8+len(value))
	binary.BigEndian.PutUint64(buf, word)
	return append(buf, value...)
}

// decodeValue returns a view into b, valid only while b is, and whether it
// is compressed.
func decodeValue(b []byte) (rev int64, compressed bool, value []byte, err error) {
	if len(b) < 8 {
		return 0, false, nil, fmt.Errorf("%w: value of %d bytes", errCorrupt, len(b))
	}
	word := binary.BigEndian.Uint64(b)
	switch word >> revBits {
	case valueRaw:
	case valueS2:
		compressed = true
	default:
		return 0, false, nil, fmt.Errorf("%w: value kept as %d", errCorrupt, word>>revBits)
	}
	return int64(word & revMask), compressed, b[8:], nil
}

// logPutS2 is the type byte of a put whose value the log keeps
// compressed; puts and deletes otherwise carry their store.EventType.
const logPutS2 = 3

// appendEvent encodes one event of a log record: a type byte, the key's
// length and bytes, and for a put the value's length and bytes as stored
// (compressed or not). The revision is the record's key, so it is not
// repeated.
func appendEvent(buf []byte, typ store.EventType, key string, compressed bool, value []byte) []byte {
	if compressed {
		buf = append(buf, logPutS2)
	} else {
		buf = append(buf, byte(typ))
	}
	buf = binary.AppendUvarint(buf, uint64(len(key)))
	buf = append(buf, key...)
	if typ == store.EventPut {
		buf = binary.AppendUvarint(buf, uint64(len(value)))
		buf = append(buf, value...)
	}
	return buf
}

// decodeEvents copies out of b, which bbolt owns only for the read
// transaction, the events whose key has the prefix, decompressing their
// values where the log keeps them compressed.
func decodeEvents(b []byte, rev int64, prefix string, c *compressor, out []store.Event) ([]store.Event, error) {
	for len(b) > 0 {
		typ := store.EventType(b[0])
		compressed := typ == logPutS2
		if compressed {
			typ = store.EventPut
		}
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
			if ev.KV.Value, err = c.value(key, compressed, value); err != nil {
				return out, fmt.Errorf("revision %d, key %q: %w", rev, key, err)
			}
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
