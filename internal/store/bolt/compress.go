package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
	bbolt "go.etcd.io/bbolt"
)

// Values are stored compressed with zstd against a dictionary per key
// prefix (the key up to its first '/': "tasks/", "instances/"). Wharf's
// records are JSON documents that differ from their siblings in a few IDs
// and timestamps: on its own a 1.4 KB task compresses to about half, but
// against a dictionary made of other tasks it is about a tenth. That is what
// lets a million tasks' store file stay in the page cache beside the heap.
//
// A prefix's dictionary is made once, from the first values written under
// it (dictSamples of them, or dictMaxBytes): those values themselves stay
// uncompressed, everything written later under the prefix is compressed.
// Dictionaries are kept in the file (bucket dict) and never change or go
// away, since stored values refer to them by ID; the zstd frame names the
// dictionary it needs. Values shorter than minCompressed, values under a
// key without a '/', and values that would not get smaller are stored as
// they are.
const (
	minCompressed = 128
	dictSamples   = 32
	dictMaxBytes  = 64 << 10
)

var bucketDict = []byte("dict")

// compressor holds the dictionaries. The writer goroutine owns the
// encoders and the samples; readers only load the decoder, which is
// replaced (never changed) when a dictionary is added, before any value
// compressed with it is written.
type compressor struct {
	dec atomic.Pointer[zstd.Decoder]

	// Writer goroutine only (and Open before it starts).
	dicts   map[uint32][]byte
	prefix  map[string]uint32 // prefix -> its dictionary's ID
	enc     map[uint32]*zstd.Encoder
	samples map[string]*sampling // prefixes still without a dictionary
	ready   []string             // prefixes with enough samples, to make dictionaries for
	nextID  uint32
}

type sampling struct {
	values [][]byte
	size   int
	ready  bool
}

// loadCompressor reads the dictionaries kept in the file.
func loadCompressor(tx *bbolt.Tx) (*compressor, error) {
	c := &compressor{
		dicts:   map[uint32][]byte{},
		prefix:  map[string]uint32{},
		enc:     map[uint32]*zstd.Encoder{},
		samples: map[string]*sampling{},
		nextID:  1, // zstd reads dictionary ID 0 as "none"
	}
	err := tx.Bucket(bucketDict).ForEach(func(k, v []byte) error {
		if len(v) < 4 {
			return fmt.Errorf("%w: dictionary of prefix %q", errCorrupt, k)
		}
		id := binary.BigEndian.Uint32(v)
		c.dicts[id] = bytes.Clone(v[4:])
		c.prefix[string(k)] = id
		c.nextID = max(c.nextID, id+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, c.newDecoder()
}

func (c *compressor) newDecoder() error {
	opts := []zstd.DOption{zstd.WithDecoderConcurrency(0), zstd.WithDecoderLowmem(true)}
	for id, d := range c.dicts {
		opts = append(opts, zstd.WithDecoderDictRaw(id, d))
	}
	dec, err := zstd.NewReader(nil, opts...)
	if err != nil {
		return err
	}
	c.dec.Store(dec)
	return nil
}

func keyPrefix(key string) (string, bool) {
	i := strings.IndexByte(key, '/')
	if i < 0 {
		return "", false
	}
	return key[:i+1], true
}

// compress returns what to store for a value under key, and whether it is
// compressed. Writer goroutine only.
func (c *compressor) compress(key string, value []byte) ([]byte, bool) {
	if len(value) < minCompressed {
		return value, false
	}
	prefix, ok := keyPrefix(key)
	if !ok {
		return value, false
	}
	id, ok := c.prefix[prefix]
	if !ok {
		c.sample(prefix, value)
		return value, false
	}
	enc := c.enc[id]
	if enc == nil {
		var err error
		enc, err = zstd.NewWriter(nil, zstd.WithEncoderDictRaw(id, c.dicts[id]),
			zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil { // only for bad options
			return value, false
		}
		c.enc[id] = enc
	}
	out := enc.EncodeAll(value, make([]byte, 0, len(value)/4+64))
	if len(out) >= len(value) {
		return value, false
	}
	return out, true
}

func (c *compressor) sample(prefix string, value []byte) {
	s := c.samples[prefix]
	if s == nil {
		s = &sampling{}
		c.samples[prefix] = s
	}
	if s.ready {
		return // waiting for its dictionary
	}
	s.values = append(s.values, bytes.Clone(value))
	s.size += len(value)
	if len(s.values) == dictSamples || s.size >= dictMaxBytes {
		s.ready = true
		c.ready = append(c.ready, prefix)
	}
}

// makeDicts turns the samples of the prefixes that have enough into
// dictionaries, kept in the file. The writer goroutine calls it after a
// batch committed, so a failure here never touches a caller's commit: the
// prefix simply gets no dictionary until the store is next opened.
func (c *compressor) makeDicts(db *bbolt.DB) error {
	if len(c.ready) == 0 {
		return nil
	}
	made := map[string][]byte{}
	for _, prefix := range c.ready {
		var d []byte
		for _, v := range c.samples[prefix].values {
			d = append(d, v...)
		}
		// zstd finds matches nearest the end of a dictionary best; the
		// latest samples go last, and the oldest are cut past the bound.
		if len(d) > dictMaxBytes {
			d = d[len(d)-dictMaxBytes:]
		}
		made[prefix] = d
		delete(c.samples, prefix)
	}
	c.ready = c.ready[:0]
	ids := map[string]uint32{}
	err := db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketDict)
		id := c.nextID
		for prefix, d := range made {
			v := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(d)), id)
			if err := b.Put([]byte(prefix), append(v, d...)); err != nil {
				return err
			}
			ids[prefix] = id
			id++
		}
		return nil
	})
	if err != nil {
		return err
	}
	for prefix, id := range ids {
		c.dicts[id] = made[prefix]
		c.nextID = max(c.nextID, id+1)
	}
	// Readers must be able to decode before the first value compressed
	// with a new dictionary is written: the decoder goes first.
	if err := c.newDecoder(); err != nil {
		return err
	}
	for prefix, id := range ids {
		c.prefix[prefix] = id
	}
	return nil
}

// decompress returns a fresh copy of a compressed value.
func (c *compressor) decompress(b []byte) ([]byte, error) {
	out, err := c.dec.Load().DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return out, nil
}

// value returns a fresh copy of a stored value, decompressed if it is.
func (c *compressor) value(compressed bool, b []byte) ([]byte, error) {
	if !compressed {
		return bytes.Clone(b), nil
	}
	return c.decompress(b)
}
