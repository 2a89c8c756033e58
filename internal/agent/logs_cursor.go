package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// cursor is where reading a container's output resumes: the runtime's
// Logs from Since, skipping the first Skip lines. Since is always a line's
// own timestamp chosen so that Logs starts exactly at that line (see
// advance), so the position does not depend on timestamps being unique or
// ordered.
type cursor struct {
	Since time.Time `json:"since"`
	Skip  int64     `json:"skip"`
}

// reading tracks the cursor of every line as a reader sees them.
type reading struct {
	newest time.Time // the newest timestamp seen in this read
	at     cursor    // the cursor after the last line seen
}

func newReading(from cursor) *reading {
	return &reading{newest: from.Since.Add(-time.Nanosecond), at: cursor{Since: from.Since}}
}

// advance moves past one more line. A line newer than every line before it
// in this read is one Logs would start at if asked from its timestamp: the
// lines before it are older (those read here) or were skipped by Logs for
// being older than the read's Since. It becomes the new anchor.
func (r *reading) advance(t time.Time) cursor {
	if t.After(r.newest) {
		r.newest = t
		r.at = cursor{Since: t, Skip: 1}
	} else {
		r.at.Skip++
	}
	return r.at
}

// inflight is the batch a follower is sending: if the agent stops before
// it is acknowledged, the next one asks the server whether the last Events
// events of the stream hash to Hash.
type inflight struct {
	End    cursor `json:"end"`
	Events int    `json:"events"`
	Hash   string `json:"hash"`
}

// cursorFile is a follower's saved state.
type cursorFile struct {
	Group    string    `json:"group"`
	Stream   string    `json:"stream"`
	Acked    cursor    `json:"acked"`
	Inflight *inflight `json:"inflight,omitempty"`
	// Drained: the container had stopped and all it wrote is shipped.
	Drained bool `json:"drained,omitempty"`
}

func (s *logShipper) cursorPath(id string) string { return filepath.Join(s.dir, id+".json") }

func (s *logShipper) loadCursor(id string) (cursorFile, error) {
	var c cursorFile
	if s.dir == "" {
		return c, nil
	}
	b, err := os.ReadFile(s.cursorPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

// saveCursor replaces the file in one rename, so a crash leaves the old
// state or the new, never a mix. It survives the agent's death, which is
// what it is for; a power cut may lose the last few, which only repeats
// the check of a batch in flight or, at worst, one batch.
func (s *logShipper) saveCursor(id string, c *cursorFile) error {
	if s.dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp := s.cursorPath(id) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.cursorPath(id))
}
