package cql

import (
	"errors"
	"slices"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzInstances give Eval something of each kind to look at, including the
// short attribute names a fuzzer finds first.
var fuzzInstances = []Instance{
	web,
	bare,
	{
		Attributes:   map[string]string{"a": "", "x": "1", "0": "0", "A": "\n", "\\": "é"},
		AgentVersion: "v0.0.0-x", EC2InstanceID: "\n", RegisteredAt: time.Unix(0, 1).UTC(),
		RunningTasksCount: -1, TaskGroups: []string{"", "0", "a"},
	},
}

// FuzzParse checks that Parse never panics, that its errors locate
// themselves, and that String is a canonical form: it parses to the same
// tree, prints the same again, and evaluates the same.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T %v; want *ParseError", s, err, err)
			}
			if pe.Offset < 0 || pe.Offset > len(s) {
				t.Fatalf("Parse(%q) error offset %d is outside the expression: %v", s, pe.Offset, err)
			}
			if want := utf8.RuneCountInString(s[:pe.Offset]) + 1; pe.Column != want {
				t.Fatalf("Parse(%q) error column %d; offset %d is column %d", s, pe.Column, pe.Offset, want)
			}
			return
		}
		for _, inst := range fuzzInstances {
			e.Eval(inst)
		}
		canon := e.String()
		// parse, not Parse: the canonical form may be longer than MaxLength.
		again, err := parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q, which does not parse: %v", s, canon, err)
		}
		if got := again.String(); got != canon {
			t.Fatalf("Parse(%q).String() = %q, which prints as %q", s, canon, got)
		}
		if !sameTree(e.root, again.root) {
			t.Fatalf("Parse(%q) and Parse(%q) give different trees", s, canon)
		}
		for i, inst := range fuzzInstances {
			if a, b := e.Eval(inst), again.Eval(inst); a != b {
				t.Fatalf("instance %d: Parse(%q).Eval = %v but Parse(%q).Eval = %v", i, s, a, canon, b)
			}
		}
	})
}

func sameTree(a, b *node) bool {
	if a.kind != b.kind || len(a.kids) != len(b.kids) {
		return false
	}
	if a.kind == kindTest {
		x, y := a.test, b.test
		return x.subj == y.subj && x.attr == y.attr && x.op == y.op && slices.Equal(x.args, y.args)
	}
	for i := range a.kids {
		if !sameTree(a.kids[i], b.kids[i]) {
			return false
		}
	}
	return true
}
