package cql

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestGeneratedCompounds builds random compound expressions over leaves
// whose value on web is known, written with random spellings, spacing and
// spare parentheses, and checks Eval against the value the generator
// computed from its own tree. It tests precedence and flattening more deeply
// than a byte fuzzer reaches, and String's round trip on the way.
func TestGeneratedCompounds(t *testing.T) {
	leaves := []struct {
		text string
		val  bool
	}{
		{"attribute:stack == prod", true}, {"attribute:stack equals dev", false},
		{"task:group != database", true}, {"task:group==service:production", true},
		{"runningTasksCount greater_than 5", false}, {"agentVersion >= 1.14", true},
		{"attribute:ecs.instance-type =~ 't2.*'", true}, {"ec2InstanceId not_in [i-abcd1234]", false},
		{"registeredAt < 2018-02-13", false}, {"attribute:flag exists", true},
		{"attribute:none !exists", true}, {"agentConnected in [false]", false},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	sp := func() string { return pick(" ", "  ", "\t", "\n ") }

	// gen returns an expression's text, its value on web, and its
	// precedence: 0 for or, 1 for and, 2 for a leaf, not or parentheses.
	var gen func(depth int) (string, bool, int)
	gen = func(depth int) (string, bool, int) {
		k := rng.IntN(4)
		if depth == 0 {
			k = 0
		}
		switch k {
		case 1, 2: // and, or
			prec := k - 1
			a, av, ap := gen(depth - 1)
			b, bv, bp := gen(depth - 1)
			if ap < prec || rng.IntN(5) == 0 {
				a = "(" + a + ")"
			}
			if bp < prec || rng.IntN(5) == 0 {
				b = "(" + b + ")"
			}
			if prec == 1 {
				return a + sp() + pick("and", "AND", "&&") + sp() + b, av && bv, 1
			}
			return a + sp() + pick("or", "Or", "||") + sp() + b, av || bv, 0
		case 3: // not
			x, v, p := gen(depth - 1)
			if p < 2 || rng.IntN(3) == 0 {
				x = "(" + x + ")"
			}
			if strings.HasPrefix(x, "(") {
				return pick("not", "not ", "NOT", "!", "! ") + x, !v, 2
			}
			// Before a word, not needs a space: notattribute:x is one word.
			return pick("not ", "Not\t", "!", "! ") + x, !v, 2
		}
		l := leaves[rng.IntN(len(leaves))]
		return l.text, l.val, 2
	}
	for i := 0; i < 5000; i++ {
		text, want, _ := gen(1 + rng.IntN(5))
		e := mustParse(t, text)
		if got := e.Eval(web); got != want {
			t.Fatalf("Parse(%q).Eval(web) = %v; want %v (canonical %q)", text, got, want, e)
		}
		again := mustParse(t, e.String())
		if again.String() != e.String() || again.Eval(web) != want {
			t.Fatalf("%q: canonical %q does not round-trip", text, e)
		}
	}
}
