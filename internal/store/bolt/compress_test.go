package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	bbolt "go.etcd.io/bbolt"

	"github.com/wharf-ecs/wharf/internal/store"
)

// openTemp opens a store in a temporary directory, closed when the test
// ends.
func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "wharf.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// taskDoc is shaped like a stored task: mostly what its siblings share,
// with a few IDs and a status of its own.
func taskDoc(i int, status string) []byte {
	id := fmt.Sprintf("%032x", i*7919)
	return fmt.Appendf(nil, `{"clusterArn":"arn:aws:ecs:us-east-1:123456789012:cluster/c1","containerInstanceArn":"arn:aws:ecs:us-east-1:123456789012:container-instance/c1/%032x",`+
		`"containers":[{"containerArn":"arn:aws:ecs:us-east-1:123456789012:container/c1/%s/%08x","cpu":"16","image":"wharf-testapp:latest","lastStatus":%q,"memory":"16","name":"app","taskArn":"arn:aws:ecs:us-east-1:123456789012:task/c1/%s"}],`+
		`"cpu":"16","createdAt":%d.5,"desiredStatus":"RUNNING","group":"family:scale","healthStatus":"UNKNOWN","lastStatus":%q,"launchType":"EC2","memory":"16","taskArn":"arn:aws:ecs:us-east-1:123456789012:task/c1/%s","taskDefinitionArn":"arn:aws:ecs:us-east-1:123456789012:task-definition/scale:1","version":%d}`,
		i%97, id, i, status, id, 1795325725+i, status, id, i%5)
}

// storedValues reads the kv bucket as it is on disk.
func storedValues(t *testing.T, s *Store, prefix string) (raw, compressed, bytesOnDisk int) {
	t.Helper()
	err := s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketKV).Cursor()
		for k, v := c.Seek([]byte(prefix)); k != nil && hasPrefix(k, prefix); k, v = c.Next() {
			_, z, val, err := decodeValue(v)
			if err != nil {
				return err
			}
			if z {
				compressed++
			} else {
				raw++
			}
			bytesOnDisk += len(val)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw, compressed, bytesOnDisk
}

// Values under a prefix are compressed once it has a dictionary, and every
// way of reading them (Get, GetMany, List, a watch replaying the log, the
// same after a reopen) gives back exactly what was written.
func TestValuesAreCompressedAndReadBackExactly(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "wharf.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	want := map[string][]byte{}
	total := 0
	for round, status := range []string{"PENDING", "RUNNING"} {
		for i := range n {
			key := fmt.Sprintf("tasks/c1/%05d", i)
			doc := taskDoc(i, status)
			// Ten keys a transaction, like RunTask's.
			if i%10 == 0 || round == 1 {
				if _, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: key, Value: doc}}}); err != nil {
					t.Fatal(err)
				}
			} else if _, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: key, Value: doc}, {Key: "small/" + key, Value: []byte("tiny")}}}); err != nil {
				t.Fatal(err)
			}
			want[key] = doc
			if round == 1 {
				total += len(doc)
			}
		}
	}
	// A key with no '/' has no prefix to share a dictionary with.
	bare := bytes.Repeat([]byte("x"), 500)
	if _, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: "bare", Value: bare}}}); err != nil {
		t.Fatal(err)
	}
	want["bare"] = bare

	raw, compressed, onDisk := storedValues(t, s, "tasks/")
	if raw != 0 || compressed != n {
		t.Errorf("tasks stored: %d raw, %d compressed; want all %d compressed (the samples were rewritten)", raw, compressed, n)
	}
	if onDisk*4 > total {
		t.Errorf("tasks take %d bytes on disk for %d written: want at most a quarter", onDisk, total)
	}
	if raw, compressed, _ := storedValues(t, s, "small/"); compressed != 0 || raw == 0 {
		t.Errorf("small values: %d raw, %d compressed; want none compressed", raw, compressed)
	}
	if raw, compressed, _ := storedValues(t, s, "bare"); raw != 1 || compressed != 0 {
		t.Errorf("key without a prefix: %d raw, %d compressed; want it raw", raw, compressed)
	}

	check := func(s *Store) {
		t.Helper()
		keys := make([]string, 0, len(want))
		for k, v := range want {
			keys = append(keys, k)
			kv, err := s.Get(ctx, k)
			if err != nil || !bytes.Equal(kv.Value, v) {
				t.Fatalf("Get(%q) = %q, %v; want %q", k, kv.Value, err, v)
			}
		}
		kvs, err := s.GetMany(ctx, keys)
		if err != nil {
			t.Fatal(err)
		}
		for i, kv := range kvs {
			if !bytes.Equal(kv.Value, want[keys[i]]) {
				t.Fatalf("GetMany: %q = %q; want %q", keys[i], kv.Value, want[keys[i]])
			}
		}
		listed, _, err := s.List(ctx, "tasks/", store.ListOptions{})
		if err != nil || len(listed) != n {
			t.Fatalf("List = %d KVs, %v; want %d", len(listed), err, n)
		}
		for _, kv := range listed {
			if !bytes.Equal(kv.Value, want[kv.Key]) {
				t.Fatalf("List: %q = %q; want %q", kv.Key, kv.Value, want[kv.Key])
			}
		}
		// The log keeps the values as stored; a replay from the start
		// decompresses them, and its last put of each key is the value.
		head, err := s.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch, err := s.Watch(wctx, "tasks/", 0)
		if err != nil {
			t.Fatal(err)
		}
		last := map[string][]byte{}
		for done := false; !done; {
			select {
			case ev := <-ch:
				last[ev.KV.Key] = ev.KV.Value
				done = ev.KV.Revision == head-1 && ev.Last // the bare key's revision is the head
			case <-time.After(15 * time.Second):
				t.Fatal("watch replay stuck")
			}
		}
		for k, v := range last {
			if !bytes.Equal(v, want[k]) {
				t.Fatalf("replayed %q = %q; want %q", k, v, want[k])
			}
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened, the dictionaries come from the file: old values read back,
	// and new ones are compressed at once.
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
	doc := taskDoc(n, "PENDING")
	if _, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: "tasks/c1/new", Value: doc}}}); err != nil {
		t.Fatal(err)
	}
	if raw, compressed, _ := storedValues(t, s, "tasks/c1/new"); raw != 0 || compressed != 1 {
		t.Errorf("a write after reopening: %d raw, %d compressed; want compressed", raw, compressed)
	}
}

// A watcher that is live when a value is compressed gets the value as it
// was written, not as it is stored.
func TestLiveWatchSeesValuesAsWritten(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	ch, err := s.Watch(ctx, "tasks/", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range dictSamples + 10 {
		doc := taskDoc(i, "RUNNING")
		if _, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: fmt.Sprintf("tasks/c1/%d", i), Value: doc}}}); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-ch:
			if !bytes.Equal(ev.KV.Value, doc) {
				t.Fatalf("event %d = %q; want %q", i, ev.KV.Value, doc)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
	}
	if _, compressed, _ := storedValues(t, s, "tasks/"); compressed != 10 {
		t.Errorf("%d values stored compressed; want the 10 after the dictionary", compressed)
	}
}

// A file of format 1 (no compression) opens as it is and is upgraded; a
// file of a newer format is refused with what to do.
func TestOpenUpgradesFormat1AndRefusesNewer(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "wharf.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: "k/a", Value: []byte("a")}}}); err != nil {
		t.Fatal(err)
	}
	setFormat := func(f int64) {
		t.Helper()
		db, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bbolt.Tx) error {
			if err := tx.DeleteBucket(bucketDict); err != nil && !errors.Is(err, bbolt.ErrBucketNotFound) {
				return err
			}
			return tx.Bucket(bucketMeta).Put(keyFormat, encodeRev(f))
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	setFormat(1)
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("Open(format 1) = %v", err)
	}
	if kv, err := s.Get(ctx, "k/a"); err != nil || string(kv.Value) != "a" || kv.Revision != 1 {
		t.Errorf("Get after upgrade = %+v, %v", kv, err)
	}
	var f int64
	if err := s.db.View(func(tx *bbolt.Tx) error {
		f, err = readInt(tx.Bucket(bucketMeta), keyFormat)
		return err
	}); err != nil || f != formatVersion {
		t.Errorf("format after upgrade = %d, %v; want %d", f, err, formatVersion)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	setFormat(formatVersion + 1)
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "newer wharf") {
		t.Errorf("Open(newer format) = %v; want a refusal that says to use a newer wharf", err)
	}
}

// A damaged compressed value is an error of that read, never a panic.
func TestCorruptCompressedValueIsAnError(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t)
	for i := range dictSamples + 1 {
		if _, err := s.Commit(ctx, store.Txn{Ops: []store.Op{{Key: fmt.Sprintf("tasks/c1/%d", i), Value: taskDoc(i, "RUNNING")}}}); err != nil {
			t.Fatal(err)
		}
	}
	key := fmt.Sprintf("tasks/c1/%d", dictSamples)
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKV)
		v := bytes.Clone(b.Get([]byte(key)))
		if _, z, _, _ := decodeValue(v); !z {
			return errors.New("value not compressed")
		}
		// S2 blocks carry no checksum (nor do raw values): a cut-short
		// block is what can be told apart for sure.
		return b.Put([]byte(key), v[:len(v)-5])
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, key); !errors.Is(err, errCorrupt) {
		t.Errorf("Get(damaged) = %v; want a corruption error", err)
	}
	if _, _, err := s.List(ctx, "tasks/", store.ListOptions{}); !errors.Is(err, errCorrupt) {
		t.Errorf("List over a damaged value = %v; want a corruption error", err)
	}
}

// Stored bytes come from the disk: decoding them must never panic.
func FuzzDecodeStored(f *testing.F) {
	c := newTestCompressor()
	f.Add(encodeValue(5, false, []byte("v")))
	f.Add(encodeValue(5, true, []byte("garbage")))
	stored, _ := c.compress("tasks/c1/x", taskDoc(7, "RUNNING"))
	f.Add(appendEvent(nil, store.EventPut, "tasks/c1/x", true, stored))
	f.Add(appendEvent(nil, store.EventDelete, "k/1", false, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, z, v, err := decodeValue(b); err == nil {
			_, _ = c.value([]byte("tasks/c1/x"), z, v)
		}
		_, _ = decodeEvents(b, 1, "", c, nil)
	})
}

// newTestCompressor has a dictionary for "tasks/" made of 32 tasks.
func newTestCompressor() *compressor {
	var content []byte
	for i := range dictSamples {
		content = append(content, taskDoc(i, "RUNNING")...)
	}
	c := &compressor{samples: map[string]*sampling{}}
	c.dicts.Store(&map[string]*s2.Dict{"tasks/": s2.MakeDict(content, nil)})
	return c
}

// BenchmarkTaskValue is the cost of storing and of reading back one task
// document against a dictionary of 32 others.
func BenchmarkTaskValue(b *testing.B) {
	c := newTestCompressor()
	doc := taskDoc(1000, "RUNNING")
	stored, ok := c.compress("tasks/c1/x", doc)
	if !ok {
		b.Fatal("not compressed")
	}
	stored = bytes.Clone(stored)
	b.Run("compress", func(b *testing.B) {
		for b.Loop() {
			c.compress("tasks/c1/x", doc)
		}
		b.ReportMetric(float64(len(stored)), "stored-bytes")
		b.ReportMetric(float64(len(doc)), "doc-bytes")
	})
	b.Run("decompress", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.value([]byte("tasks/c1/x"), true, stored); err != nil {
				b.Fatal(err)
			}
		}
	})
}
