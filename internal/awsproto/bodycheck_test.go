package awsproto

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzCheckBody: the depth and UTF-8 check never panics, refuses what is not
// UTF-8, and passes every valid JSON document that nests no deeper than the
// bound.
func FuzzCheckBody(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"[[["}]}`))
	f.Add([]byte("{\"a\":\"\xff\"}"))
	f.Add([]byte(`{"a":"\\\"{"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkBody(b)
		if !utf8.Valid(b) {
			if err == nil {
				t.Fatal("invalid UTF-8 accepted")
			}
			return
		}
		if json.Valid(b) && depth(b) <= MaxJSONDepth && err != nil {
			t.Fatalf("valid JSON of depth %d refused: %v", depth(b), err)
		}
	})
}

// depth decodes b and measures its nesting the slow, obvious way.
func depth(b []byte) int {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return 0
	}
	var d func(any) int
	d = func(v any) int {
		switch x := v.(type) {
		case map[string]any:
			m := 0
			for _, e := range x {
				m = max(m, d(e))
			}
			return m + 1
		case []any:
			m := 0
			for _, e := range x {
				m = max(m, d(e))
			}
			return m + 1
		}
		return 0
	}
	return d(v)
}
