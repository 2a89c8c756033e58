package logstore

import (
	"math"

	bbolt "go.etcd.io/bbolt"
)

// deleteChunk bounds the events one maintenance transaction deletes, so that
// appends are never held up for long.
const deleteChunk = 20_000

// Maintain deletes the events past their group's retention, then, while the
// store is over its size limit, the oldest events of all until it is 10%
// under it. It returns the bytes it freed.
func (s *Store) Maintain() (int64, error) {
	freed, err := s.expire()
	if err != nil {
		return freed, err
	}
	n, err := s.evict()
	return freed + n, err
}

// OverLimit reports whether total exceeds the size limit.
func (s *Store) OverLimit(total int64) bool { return s.limit > 0 && total > s.limit }

type streamRef struct {
	group string
	st    *Stream
}

func (s *Store) expire() (int64, error) {
	type job struct {
		streamRef
		cutoff int64
	}
	var jobs []job
	now := s.now()
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketGroups).ForEach(func(k, v []byte) error {
			g, err := decode[Group](k, v)
			if err != nil || g.RetentionDays <= 0 {
				return err
			}
			streams, err := listStreams(tx, g.Name, "")
			if err != nil {
				return err
			}
			for _, st := range streams {
				if st.Events > 0 && st.FirstEventTime < g.Cutoff(now) {
					jobs = append(jobs, job{streamRef{g.Name, st}, g.Cutoff(now)})
				}
			}
			return nil
		})
	})
	var freed int64
	for _, j := range jobs {
		for more := true; more && err == nil; {
			var n int64
			n, more, err = s.trim(j.group, j.st.Name, j.cutoff, math.MaxInt64)
			freed += n
		}
	}
	if freed > 0 {
		s.log.Info("deleted log events past their group's retention", "bytes", freed)
	}
	return freed, err
}

// evict deletes the oldest events across every stream while the store is
// over its limit.
func (s *Store) evict() (int64, error) {
	if s.limit <= 0 {
		return 0, nil
	}
	total, err := s.StoredBytes()
	if err != nil || total <= s.limit {
		return 0, err
	}
	// Go 10% under the limit, so that the next append does not evict again.
	target := s.limit - s.limit/10
	var freed int64
	for total > target {
		oldest, cutoff, err := s.oldestStream()
		if err != nil || oldest == nil {
			return freed, err
		}
		n, _, err := s.trim(oldest.group, oldest.st.Name, cutoff, total-target)
		freed += n
		if err != nil || n == 0 {
			return freed, err
		}
		if total, err = s.StoredBytes(); err != nil {
			return freed, err
		}
	}
	s.log.Info("log storage was over its limit; deleted the oldest events", "bytes", freed, "limit", s.limit, "stored", total)
	return freed, nil
}

// oldestStream finds the stream with the oldest event, and the timestamp of
// the oldest event of any other stream: its events before that go first.
func (s *Store) oldestStream() (*streamRef, int64, error) {
	var best *streamRef
	second := int64(math.MaxInt64)
	err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketStreams).ForEach(func(k, v []byte) error {
			st, err := decode[Stream](k, v)
			if err != nil || st.Events == 0 {
				return err
			}
			group := string(k[:len(k)-len(st.Name)-1])
			switch {
			case best == nil:
				best = &streamRef{group, st}
			case st.FirstEventTime < best.st.FirstEventTime:
				second = best.st.FirstEventTime
				best = &streamRef{group, st}
			default:
				second = min(second, st.FirstEventTime)
			}
			return nil
		})
	})
	if best == nil || err != nil {
		return nil, 0, err
	}
	cutoff := second
	if cutoff <= best.st.FirstEventTime {
		cutoff = best.st.FirstEventTime + 1
	}
	return best, cutoff, nil
}

// trim deletes, in one transaction, up to deleteChunk of a stream's oldest
// events timestamped before cutoff, stopping once maxFree bytes are freed.
// more reports that events before cutoff remain.
func (s *Store) trim(group, stream string, cutoff, maxFree int64) (freed int64, more bool, err error) {
	err = s.db.Update(func(tx *bbolt.Tx) error {
		g, st, err := getStream(tx, group, stream)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketEvents).Bucket(idKey(st.ID))
		if b == nil {
			return nil
		}
		var keys [][]byte
		c := b.Cursor()
		k, v := c.First()
		for ; k != nil && parseKey(k).Time < cutoff; k, v = c.Next() {
			if len(keys) >= deleteChunk || freed >= maxFree {
				more = true
				break
			}
			keys = append(keys, append([]byte(nil), k...))
			freed += int64(len(v) - 8 + EventOverhead)
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		st.StoredBytes = max(st.StoredBytes-freed, 0)
		st.Events = max(st.Events-int64(len(keys)), 0)
		if k, _ := b.Cursor().First(); k != nil {
			st.FirstEventTime = parseKey(k).Time
		}
		if err := putJSON(tx.Bucket(bucketStreams), streamKey(group, stream), st); err != nil {
			return err
		}
		g.StoredBytes = max(g.StoredBytes-freed, 0)
		if err := putJSON(tx.Bucket(bucketGroups), []byte(group), g); err != nil {
			return err
		}
		return addTotal(tx, -freed)
	})
	return freed, more, err
}
