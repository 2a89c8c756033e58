package bolt

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/s2"
	bbolt "go.etcd.io/bbolt"
)

// Values are stored compressed with S2 against a dictionary per key prefix
// (the key up to its first '/': "tasks/", "instances/"). Wharf's records are
// JSON documents that differ from their siblings in a few IDs and
// timestamps: on its own a 1.4 KB task compresses to about two thirds, but
// against a dictionary made of other tasks to about a seventh. That is what
// lets a million tasks' store file stay in the page cache beside the heap.
// S2 rather than zstd: zstd against a dictionary is a quarter smaller still,
// but it decodes at a third of the speed, and every read of a task (a
// DescribeTasks of a hundred, an agent's poll) pays for that.
//
// A prefix's dictionary is made once, from the first values written under
// it (dictSamples of them, or dictMaxBytes): those values themselves stay
// uncompressed, everything written later under the prefix is compressed.
// Dictionaries are kept in the file (bucket dict) and never change or go
// away, since the values under their prefix need them. Values shorter than
// minCompressed, values under a key without a '/', and values that would
// not get smaller are stored as they are.
const (
	minCompressed = 128
	// maxCompressed keeps big values (rare: a large task definition)
	// uncompressed, and so bounds what a damaged length in a compressed
	// block can make a read allocate.
	maxCompressed = 1 << 20
	dictSamples   = 32
	dictMaxBytes  = s2.MaxDictSize
)

var bucketDict = []byte("dict")

// compressor holds the dictionaries. Readers load the map of them, which
// is replaced (never changed) when one is added, before any value
// compressed with it is written.
type compressor struct {
	dicts atomic.Pointer[map[string]*s2.Dict] // by key prefix

	// The writer goroutine only (and Open before it starts).
	samples map[string]*sampling // prefixes still without a dictionary
	ready   []string             // prefixes with enough samples, to make dictionaries for
	scratch []byte
}

type sampling struct {
	values [][]byte
	size   int
	ready  bool
}

// loadCompressor reads the dictionaries kept in the file.
func loadCompressor(tx *bbolt.Tx) (*compressor, error) {
	dicts := map[string]*s2.Dict{}
	err := tx.Bucket(bucketDict).ForEach(func(k, v []byte) error {
		d := s2.NewDict(bytes.Clone(v))
		if d == nil {
			return fmt.Errorf("%w: dictionary of prefix %q", errCorrupt, k)
		}
		dicts[string(k)] = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	c := &compressor{samples: map[string]*sampling{}}
	c.dicts.Store(&dicts)
	return c, nil
}

func keyPrefix(key string) (string, bool) {
	i := strings.IndexByte(key, '/')
	if i < 0 {
		return "", false
	}
	return key[:i+1], true
}

// compress returns what to store for a value under key, and whether it is
// compressed; a compressed result is valid until the next call. Writer
// goroutine only.
func (c *compressor) compress(key string, value []byte) ([]byte, bool) {
	if len(value) < minCompressed || len(value) > maxCompressed {
		return value, false
	}
	prefix, ok := keyPrefix(key)
	if !ok {
		return value, false
	}
	d := (*c.dicts.Load())[prefix]
	if d == nil {
		c.sample(prefix, value)
		return value, false
	}
	// Into a buffer reused from call to call: the caller copies what is
	// returned before compressing the next value.
	c.scratch = d.Encode(c.scratch[:0], value)
	if len(c.scratch) >= len(value) {
		return value, false
	}
	return c.scratch, true
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
// prefix gets its dictionary from later samples instead.
func (c *compressor) makeDicts(db *bbolt.DB) error {
	if len(c.ready) == 0 {
		return nil
	}
	made := map[string]*s2.Dict{}
	for _, prefix := range c.ready {
		var content []byte
		for _, v := range c.samples[prefix].values {
			content = append(content, v...)
		}
		delete(c.samples, prefix)
		// MakeDict keeps the end of content past its bound: the latest
		// samples, which S2 also finds matches in first.
		if d := s2.MakeDict(content, nil); d != nil {
			made[prefix] = d
		}
	}
	c.ready = c.ready[:0]
	err := db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketDict)
		for prefix, d := range made {
			if err := b.Put([]byte(prefix), d.Bytes()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Readers see the new map before the first value compressed with one
	// of its dictionaries is written.
	dicts := maps.Clone(*c.dicts.Load())
	maps.Copy(dicts, made)
	c.dicts.Store(&dicts)
	return nil
}

// value returns a fresh copy of the stored value under key, decompressed
// if it is.
func (c *compressor) value(key []byte, compressed bool, b []byte) ([]byte, error) {
	if !compressed {
		return bytes.Clone(b), nil
	}
	var d *s2.Dict
	if i := bytes.IndexByte(key, '/'); i >= 0 {
		d = (*c.dicts.Load())[string(key[:i+1])]
	}
	if d == nil {
		return nil, fmt.Errorf("%w: compressed value without a dictionary", errCorrupt)
	}
	if n, err := s2.DecodedLen(b); err != nil || n > maxCompressed {
		return nil, fmt.Errorf("%w: compressed value of %d bytes (%v)", errCorrupt, n, err)
	}
	out, err := d.Decode(nil, b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return out, nil
}
