// Package logstore keeps CloudWatch Logs data for Wharf's logs API: log
// groups, their streams and the streams' events, in one bbolt file of its own
// (DATA-DIR/logs/logs.db), apart from the control plane's store.
//
// Why not the control plane's store: that store is the consistent metadata
// store, every commit of which is replayed to watchers; log volume (tens of
// thousands of lines a second) would swamp its change history and its group
// commits. Why bbolt and not hand-made segment files: an event's key is its
// stream and its position, (timestamp, sequence), so bbolt's B+tree is the
// time index, seeking to a time in either direction is a cursor Seek,
// deleting a group or a stream is dropping a bucket, and every append is one
// durable transaction without a recovery procedure of our own.
//
// Layout (buckets at the top level):
//
//	groups   NAME                → Group (JSON)
//	streams  GROUP 0x00 STREAM   → Stream (JSON)
//	events   STREAM-ID (8 bytes) → bucket of TIME(8) SEQ(8) → INGESTED(8) MESSAGE
//	meta     "bytes"             → stored bytes of every group (8 bytes)
//
// SEQ is one sequence for the whole file, so (TIME, SEQ) orders events within
// a stream and across streams by timestamp, then by arrival: the order
// CloudWatch Logs returns them in.
//
// Storage is bounded twice: each group's retention (events older than
// retentionInDays are invisible at once and deleted by Maintain), and a size
// limit over all groups, enforced by deleting the oldest events first. Sizes
// are counted as CloudWatch counts them, message bytes plus 26 per event; the
// file is larger by bbolt's own overhead, and does not shrink (bbolt reuses
// freed pages instead), so it stays near its high-water mark.
package logstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// EventOverhead is what CloudWatch Logs counts for an event beside its
// message, in batch sizes and stored bytes.
const EventOverhead = 26

var (
	bucketGroups  = []byte("groups")
	bucketStreams = []byte("streams")
	bucketEvents  = []byte("events")
	bucketMeta    = []byte("meta")
	keyBytes      = []byte("bytes")
)

// Errors the store returns; the API maps them to CloudWatch's error shapes.
var (
	ErrGroupExists    = errors.New("log group already exists")
	ErrGroupNotFound  = errors.New("log group does not exist")
	ErrStreamExists   = errors.New("log stream already exists")
	ErrStreamNotFound = errors.New("log stream does not exist")
)

// Group is a stored log group.
type Group struct {
	Name               string            `json:"name"`
	CreationTime       int64             `json:"creationTime"`
	RetentionDays      int32             `json:"retentionInDays,omitempty"` // 0: never expire
	KmsKeyID           string            `json:"kmsKeyId,omitempty"`
	Class              string            `json:"logGroupClass,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	DeletionProtection bool              `json:"deletionProtectionEnabled,omitempty"`
	StoredBytes        int64             `json:"storedBytes"`
}

// Cutoff is the timestamp (ms) before which the group's events have expired
// at now, or 0 when they never do.
func (g *Group) Cutoff(now time.Time) int64 {
	if g.RetentionDays <= 0 {
		return 0
	}
	return now.Add(-time.Duration(g.RetentionDays) * 24 * time.Hour).UnixMilli()
}

// Stream is a stored log stream.
type Stream struct {
	Name              string `json:"name"`
	ID                uint64 `json:"id"`
	CreationTime      int64  `json:"creationTime"`
	FirstEventTime    int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTime     int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime int64  `json:"lastIngestionTime,omitempty"`
	StoredBytes       int64  `json:"storedBytes"`
	Events            int64  `json:"events"`
	// LastSeq is the sequence of the last event appended, the stream's
	// uploadSequenceToken.
	LastSeq uint64 `json:"lastSeq,omitempty"`
}

// Options tune a Store.
type Options struct {
	// Limit bounds the stored bytes of all groups together; Maintain
	// deletes the oldest events beyond it. 0 means no limit.
	Limit int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NoSync skips fsync (benchmarks of everything but the disk).
	NoSync bool
	Log    *slog.Logger
}

// Store is the log store. It is safe for concurrent use.
type Store struct {
	db    *bbolt.DB
	limit int64
	now   func() time.Time
	log   *slog.Logger
}

// Open opens (creating if needed) the log store file at path.
func Open(path string, opts Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: 10 * time.Second,
		NoSync:  opts.NoSync,
		// Evictions free many pages; the map freelist finds space among
		// them fast, and not syncing it keeps commits small (it is rebuilt
		// by a scan when the file is opened).
		FreelistType:   bbolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if err != nil {
		return nil, fmt.Errorf("open log store %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketGroups, bucketStreams, bucketEvents, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise log store %s: %w", path, err)
	}
	s := &Store{db: db, limit: opts.Limit, now: opts.Now, log: opts.Log}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Limit is the configured size limit in bytes (0: none).
func (s *Store) Limit() int64 { return s.limit }

// StoredBytes is the size of every group's events, as CloudWatch counts it.
func (s *Store) StoredBytes() (int64, error) {
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		n = getTotal(tx)
		return nil
	})
	return n, err
}

// FileSize is the size of the store's file on disk.
func (s *Store) FileSize() (int64, error) {
	fi, err := os.Stat(s.db.Path())
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func getTotal(tx *bbolt.Tx) int64 {
	v := tx.Bucket(bucketMeta).Get(keyBytes)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func addTotal(tx *bbolt.Tx, delta int64) error {
	n := max(getTotal(tx)+delta, 0)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return tx.Bucket(bucketMeta).Put(keyBytes, b[:])
}

func streamKey(group, stream string) []byte {
	k := make([]byte, 0, len(group)+1+len(stream))
	k = append(k, group...)
	k = append(k, 0)
	return append(k, stream...)
}

func streamsPrefix(group string) []byte { return append([]byte(group), 0) }

func idKey(id uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return b[:]
}

func getJSON[T any](b *bbolt.Bucket, key []byte) (*T, bool, error) {
	v := b.Get(key)
	if v == nil {
		return nil, false, nil
	}
	out, err := decode[T](key, v)
	return out, err == nil, err
}

func putJSON(b *bbolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

func getGroup(tx *bbolt.Tx, name string) (*Group, error) {
	g, ok, err := getJSON[Group](tx.Bucket(bucketGroups), []byte(name))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrGroupNotFound
	}
	return g, nil
}

// getStream returns the group and the stream, or which of them is missing.
func getStream(tx *bbolt.Tx, group, stream string) (*Group, *Stream, error) {
	g, err := getGroup(tx, group)
	if err != nil {
		return nil, nil, err
	}
	st, ok, err := getJSON[Stream](tx.Bucket(bucketStreams), streamKey(group, stream))
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return g, nil, ErrStreamNotFound
	}
	return g, st, nil
}
