package logstore

import (
	"container/heap"
	"encoding/binary"
	"math"

	bbolt "go.etcd.io/bbolt"
)

// Key is an event's place in a stream: its timestamp in milliseconds, then
// its sequence, which follows arrival. Pages and tokens name the gap before a
// key: reading forward from k yields the events at k and after, reading
// backward the events before k.
type Key struct {
	Time int64
	Seq  uint64
}

// Next is the key right after k.
func (k Key) Next() Key {
	if k.Seq == math.MaxUint64 {
		return Key{Time: k.Time + 1}
	}
	return Key{Time: k.Time, Seq: k.Seq + 1}
}

// Less orders keys.
func (k Key) Less(o Key) bool { return k.Time < o.Time || k.Time == o.Time && k.Seq < o.Seq }

func (k Key) bytes() []byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(max(k.Time, 0)))
	binary.BigEndian.PutUint64(b[8:], k.Seq)
	return b[:]
}

func parseKey(b []byte) Key {
	return Key{Time: int64(binary.BigEndian.Uint64(b[:8])), Seq: binary.BigEndian.Uint64(b[8:16])}
}

// Input is an event to append.
type Input struct {
	Timestamp int64 // ms; not negative
	Message   string
}

// Event is a stored event.
type Event struct {
	Key
	Ingested int64 // ms
	Message  string
	Stream   string // set by Scan
}

// Size is what CloudWatch counts for the event.
func (e *Event) Size() int { return len(e.Message) + EventOverhead }

// Appended is what an Append did.
type Appended struct {
	LastSeq uint64 // the last event's sequence
	Total   int64  // the store's stored bytes after the append
}

// Append adds events, already validated and in chronological order, to a
// stream, durably. Concurrent appends share transactions and fsyncs.
func (s *Store) Append(group, stream string, evs []Input, ingested int64) (Appended, error) {
	var out Appended
	err := s.db.Batch(func(tx *bbolt.Tx) error {
		g, st, err := getStream(tx, group, stream)
		if err != nil {
			return err
		}
		root := tx.Bucket(bucketEvents)
		b, err := root.CreateBucketIfNotExists(idKey(st.ID))
		if err != nil {
			return err
		}
		// Keys mostly grow: full pages instead of bbolt's half-full splits.
		b.FillPercent = 0.95
		seq := root.Sequence()
		if err := root.SetSequence(seq + uint64(len(evs))); err != nil {
			return err
		}
		var size int64
		for _, e := range evs {
			size += int64(len(e.Message) + EventOverhead)
		}
		// bbolt keeps the slices it is given until the commit: one buffer
		// for every key and value of the batch, carved up.
		buf := make([]byte, 0, size-int64(len(evs))*(EventOverhead-8-16))
		for _, e := range evs {
			seq++
			k := len(buf)
			buf = append(buf, Key{e.Timestamp, seq}.bytes()...)
			v := len(buf)
			buf = binary.BigEndian.AppendUint64(buf, uint64(ingested))
			buf = append(buf, e.Message...)
			if err := b.Put(buf[k:v:v], buf[v:len(buf):len(buf)]); err != nil {
				return err
			}
		}
		first, last := evs[0].Timestamp, evs[len(evs)-1].Timestamp
		if st.Events == 0 || first < st.FirstEventTime {
			st.FirstEventTime = first
		}
		st.LastEventTime = max(st.LastEventTime, last)
		st.LastIngestionTime = ingested
		st.StoredBytes += size
		st.Events += int64(len(evs))
		st.LastSeq = seq
		if err := putJSON(tx.Bucket(bucketStreams), streamKey(group, stream), st); err != nil {
			return err
		}
		g.StoredBytes += size
		if err := putJSON(tx.Bucket(bucketGroups), []byte(group), g); err != nil {
			return err
		}
		if err := addTotal(tx, size); err != nil {
			return err
		}
		out = Appended{LastSeq: seq, Total: getTotal(tx)}
		return nil
	})
	return out, err
}

// Page says what a read returns.
type Page struct {
	From    Key  // the gap to read from
	Forward bool // true: events at From and after, ascending; false: before From
	// MinTime and MaxTime bound timestamps, both inclusive. The group's
	// retention raises MinTime.
	MinTime, MaxTime int64
	Limit            int // events; at least one
	MaxBytes         int // sizes summed as CloudWatch counts them; at least one event
	// For Scan: Streams selects streams by name (nil: all), Match events by
	// message (nil: all), and MaxScanned bounds the events examined, so that
	// a pattern matching nothing cannot make one call read everything.
	Streams    func(name string) bool
	Match      func(message string) bool
	MaxScanned int
}

// Read returns a page of one stream's events, ascending by key, however it
// was read.
func (s *Store) Read(group, stream string, p Page) ([]Event, error) {
	var out []Event
	err := s.db.View(func(tx *bbolt.Tx) error {
		g, st, err := getStream(tx, group, stream)
		if err != nil {
			return err
		}
		p.MinTime = max(p.MinTime, g.Cutoff(s.now()))
		b := tx.Bucket(bucketEvents).Bucket(idKey(st.ID))
		if b == nil {
			return nil
		}
		m := &merger{forward: p.Forward}
		m.add(stream, b.Cursor(), &p)
		out, _ = m.collect(&p)
		return nil
	})
	return out, err
}

// Scan returns a page of the events of the group's selected streams,
// interleaved by key. more is the gap to continue from when the page stopped
// before the end of what matches (nil: the search is complete).
func (s *Store) Scan(group string, p Page) (events []Event, more *Key, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		g, err := getGroup(tx, group)
		if err != nil {
			return err
		}
		p.MinTime = max(p.MinTime, g.Cutoff(s.now()))
		streams, err := listStreams(tx, group, "")
		if err != nil {
			return err
		}
		root := tx.Bucket(bucketEvents)
		m := &merger{forward: p.Forward}
		for _, st := range streams {
			if p.Streams != nil && !p.Streams(st.Name) {
				continue
			}
			if b := root.Bucket(idKey(st.ID)); b != nil {
				m.add(st.Name, b.Cursor(), &p)
			}
		}
		events, more = m.collect(&p)
		return nil
	})
	return events, more, err
}

// merger walks several streams' cursors in key order (descending when
// reading backward).
type merger struct {
	forward bool
	heads   []*head
}

type head struct {
	stream string
	c      *bbolt.Cursor
	key    Key
	val    []byte
}

func (m *merger) Len() int { return len(m.heads) }
func (m *merger) Less(i, j int) bool {
	if m.forward {
		return m.heads[i].key.Less(m.heads[j].key)
	}
	return m.heads[j].key.Less(m.heads[i].key)
}
func (m *merger) Swap(i, j int) { m.heads[i], m.heads[j] = m.heads[j], m.heads[i] }
func (m *merger) Push(x any)    { m.heads = append(m.heads, x.(*head)) }
func (m *merger) Pop() any {
	h := m.heads[len(m.heads)-1]
	m.heads = m.heads[:len(m.heads)-1]
	return h
}

// add positions a stream's cursor at the page's first candidate.
func (m *merger) add(stream string, c *bbolt.Cursor, p *Page) {
	var k, v []byte
	if p.Forward {
		from := p.From
		if lo := (Key{Time: p.MinTime}); from.Less(lo) {
			from = lo
		}
		k, v = c.Seek(from.bytes())
	} else {
		from := p.From
		if p.MaxTime < math.MaxInt64 {
			if hi := (Key{Time: p.MaxTime + 1}); hi.Less(from) {
				from = hi
			}
		}
		if k, _ = c.Seek(from.bytes()); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	m.push(stream, c, k, v)
}

func (m *merger) push(stream string, c *bbolt.Cursor, k, v []byte) {
	if len(k) != 16 || len(v) < 8 {
		return
	}
	heap.Push(m, &head{stream: stream, c: c, key: parseKey(k), val: v})
}

func (m *merger) inRange(k Key, p *Page) bool {
	if m.forward {
		return k.Time <= p.MaxTime
	}
	return k.Time >= p.MinTime
}

// collect takes events off the heads until the page is full or nothing in
// range is left, and returns them ascending.
func (m *merger) collect(p *Page) ([]Event, *Key) {
	heap.Init(m)
	var out []Event
	size, scanned := 0, 0
	for len(m.heads) > 0 {
		h := m.heads[0]
		if !m.inRange(h.key, p) {
			break // the best head is out of range, so is every other
		}
		full := len(out) >= max(p.Limit, 1) ||
			p.MaxBytes > 0 && len(out) > 0 && size+len(h.val)-8+EventOverhead > p.MaxBytes
		if full || p.MaxScanned > 0 && scanned >= p.MaxScanned {
			next := h.key // the gap before the next candidate
			if !m.forward {
				next = h.key.Next()
			}
			if !m.forward {
				reverse(out)
			}
			return out, &next
		}
		scanned++
		msg := string(h.val[8:])
		if p.Match == nil || p.Match(msg) {
			out = append(out, Event{Key: h.key, Ingested: int64(binary.BigEndian.Uint64(h.val[:8])), Message: msg, Stream: h.stream})
			size += len(msg) + EventOverhead
		}
		var k, v []byte
		if m.forward {
			k, v = h.c.Next()
		} else {
			k, v = h.c.Prev()
		}
		if len(k) == 16 && len(v) >= 8 {
			h.key, h.val = parseKey(k), v
			heap.Fix(m, 0)
		} else {
			heap.Pop(m)
		}
	}
	if !m.forward {
		reverse(out)
	}
	return out, nil
}

func reverse(evs []Event) {
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
}
