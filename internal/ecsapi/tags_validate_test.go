package ecsapi

import (
	"testing"

	"github.com/wharf-ecs/wharf/internal/model"
)

func TestValidTagText(t *testing.T) {
	cases := []struct {
		s  string
		ok bool
	}{
		{"", true},
		{"team", true},
		{"cost center 42", true},
		{"a_b.c:d/e=f+g-h@i", true},
		{"Größe", true},
		{"日本語", true},
		{"\u00a0nbsp", true}, // a Unicode space separator
		{"a#b", false},
		{"a,b", false},
		{"tab\there", false},
		{"new\nline", false},
		{"emoji 🙂", false},
		{"bad \xff utf8", false},
	}
	for _, tc := range cases {
		if got := validTagText(tc.s); got != tc.ok {
			t.Errorf("validTagText(%q) = %v; want %v", tc.s, got, tc.ok)
		}
	}
}

func TestMergeTagsThenLimit(t *testing.T) {
	var have []model.Tag
	for i := 0; i < maxTagsPerResource; i++ {
		have = append(have, model.Tag{Key: string(rune('A' + i)), Value: "v"})
	}
	if got := mergeTags(have, []model.Tag{{Key: "A", Value: "new"}}); len(got) != maxTagsPerResource || got[0].Value != "new" {
		t.Errorf("overwriting a key: %d tags, first %+v; want %d tags, A=new", len(got), got[0], maxTagsPerResource)
	}
	if got := mergeTags(have, []model.Tag{{Key: "new", Value: "v"}}); len(got) != maxTagsPerResource+1 {
		t.Errorf("adding a key to a full set: %d tags; want %d (TagResource refuses it)", len(got), maxTagsPerResource+1)
	}
}
