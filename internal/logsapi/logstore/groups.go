package logstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	bbolt "go.etcd.io/bbolt"
)

// CreateGroup stores a new group; ErrGroupExists when the name is taken.
func (s *Store) CreateGroup(g Group) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketGroups)
		if b.Get([]byte(g.Name)) != nil {
			return ErrGroupExists
		}
		g.StoredBytes = 0
		return putJSON(b, []byte(g.Name), &g)
	})
}

// Group returns the group named name.
func (s *Store) Group(name string) (*Group, error) {
	var g *Group
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		g, err = getGroup(tx, name)
		return err
	})
	return g, err
}

// UpdateGroup applies fn to the stored group (its retention, tags, ...).
func (s *Store) UpdateGroup(name string, fn func(*Group) error) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		g, err := getGroup(tx, name)
		if err != nil {
			return err
		}
		if err := fn(g); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketGroups), []byte(name), g)
	})
}

// DeleteGroup deletes a group with its streams and their events.
func (s *Store) DeleteGroup(name string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		g, err := getGroup(tx, name)
		if err != nil {
			return err
		}
		streams := tx.Bucket(bucketStreams)
		events := tx.Bucket(bucketEvents)
		prefix := streamsPrefix(name)
		var keys [][]byte
		c := streams.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			st, err := decode[Stream](k, v)
			if err != nil {
				return err
			}
			if err := dropEvents(events, st.ID); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		for _, k := range keys {
			if err := streams.Delete(k); err != nil {
				return err
			}
		}
		if err := addTotal(tx, -g.StoredBytes); err != nil {
			return err
		}
		return tx.Bucket(bucketGroups).Delete([]byte(name))
	})
}

func dropEvents(events *bbolt.Bucket, id uint64) error {
	err := events.DeleteBucket(idKey(id))
	if errors.Is(err, bbolt.ErrBucketNotFound) {
		return nil
	}
	return err
}

// Groups calls fn for each group in name order, from the first name at or
// after from, until fn returns false.
func (s *Store) Groups(from string, fn func(*Group) bool) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketGroups).Cursor()
		for k, v := c.Seek([]byte(from)); k != nil; k, v = c.Next() {
			g, err := decode[Group](k, v)
			if err != nil {
				return err
			}
			if !fn(g) {
				return nil
			}
		}
		return nil
	})
}

// CreateStream stores a new, empty stream in group.
func (s *Store) CreateStream(group, name string, created int64) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		_, _, err := getStream(tx, group, name)
		switch {
		case err == nil:
			return ErrStreamExists
		case !errors.Is(err, ErrStreamNotFound):
			return err
		}
		b := tx.Bucket(bucketStreams)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		return putJSON(b, streamKey(group, name), &Stream{Name: name, ID: id, CreationTime: created})
	})
}

// Stream returns a stream of group.
func (s *Store) Stream(group, name string) (*Group, *Stream, error) {
	var g *Group
	var st *Stream
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		g, st, err = getStream(tx, group, name)
		return err
	})
	return g, st, err
}

// DeleteStream deletes a stream and its events.
func (s *Store) DeleteStream(group, name string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		g, st, err := getStream(tx, group, name)
		if err != nil {
			return err
		}
		if err := dropEvents(tx.Bucket(bucketEvents), st.ID); err != nil {
			return err
		}
		if err := tx.Bucket(bucketStreams).Delete(streamKey(group, name)); err != nil {
			return err
		}
		g.StoredBytes = max(g.StoredBytes-st.StoredBytes, 0)
		if err := putJSON(tx.Bucket(bucketGroups), []byte(group), g); err != nil {
			return err
		}
		return addTotal(tx, -st.StoredBytes)
	})
}

// Streams returns the group's streams whose names begin with prefix, in
// name order.
func (s *Store) Streams(group, prefix string) ([]*Stream, error) {
	var out []*Stream
	err := s.db.View(func(tx *bbolt.Tx) error {
		if _, err := getGroup(tx, group); err != nil {
			return err
		}
		var err error
		out, err = listStreams(tx, group, prefix)
		return err
	})
	return out, err
}

func listStreams(tx *bbolt.Tx, group, prefix string) ([]*Stream, error) {
	var out []*Stream
	p := append(streamsPrefix(group), prefix...)
	c := tx.Bucket(bucketStreams).Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		st, err := decode[Stream](k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func decode[T any](k, v []byte) (*T, error) {
	out := new(T)
	if err := json.Unmarshal(v, out); err != nil {
		return nil, fmt.Errorf("decode %q: %w", k, err)
	}
	return out, nil
}
