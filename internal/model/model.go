// Package model holds the ECS resources as plain Go data with the wire names of
// the ECS API model. The shapes are generated (ecs_types.go); this file adds the
// few hand-written helpers they need. Types here hold no locks: copy freely,
// and Clone before mutating anything that came from a cache.
package model

//go:generate sh -c "go run ../tools/modelgen -model \"$ECS_MODEL_JSON\" -pkg model -out ecs_types.go"

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Time is a timestamp on the wire of the AWS JSON protocols: epoch seconds as a
// JSON number, with fractions for sub-second precision.
type Time struct{ time.Time }

// NewTime wraps t, truncated to the millisecond precision the wire carries.
func NewTime(t time.Time) *Time { return &Time{t.UTC().Truncate(time.Millisecond)} }

// MarshalJSON writes epoch seconds with millisecond fraction.
func (t Time) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON accepts epoch seconds (number) and, as some clients send,
// RFC 3339 strings.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return t.setSeconds(f)
		}
		p, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("timestamp %q is neither epoch seconds nor RFC 3339", s)
		}
		t.Time = p.UTC()
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %s is not a number of epoch seconds", b)
	}
	return t.setSeconds(f)
}

func (t *Time) setSeconds(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
		return fmt.Errorf("timestamp %v is out of range", f)
	}
	sec, frac := math.Modf(f)
	// Round to the microsecond: truncating would turn a stored 0.189 (in
	// binary 0.18899999...) into 188 ms on its way back out.
	t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
	return nil
}

// Ptr returns a pointer to v: model.Ptr(int32(512)).
func Ptr[T any](v T) *T { return &v }

// Val returns *p, or the zero value when p is nil.
func Val[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// Clone returns a deep copy of v through its wire form. Model values are plain
// data, so the JSON round trip is exact.
func Clone[T any](v *T) *T {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("model.Clone: %v", err)) // model types always marshal
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("model.Clone: %v", err))
	}
	return out
}
