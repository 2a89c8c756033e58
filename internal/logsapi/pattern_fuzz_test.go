package logsapi

import (
	"strings"
	"testing"
)

// FuzzFilterPattern parses arbitrary patterns. A pattern either parses or is
// refused with InvalidParameterException; one that parses matches without
// panicking, and its terms behave as the rules say: an event made of the
// required terms and the first optional one matches unless an excluded term
// is inside it.
func FuzzFilterPattern(f *testing.F) {
	for _, s := range []string{"", "ERROR", "ERROR -Exiting", "?ERROR ?WARN", `"two words"`, `"esc \" quote" x`,
		"%a.*b%", "%(%", "{ $.a = 1 }", "[ip, user]", `"open`, "- x", "?", `a"b`, "  \t ", `"" x`, "%%", "-\n", "?\v x"} {
		f.Add(s, "ERROR two words WARN")
	}
	f.Fuzz(func(t *testing.T, s, msg string) {
		p, err := parsePattern(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "InvalidParameterException") {
				t.Fatalf("parsePattern(%q) error %v is not an InvalidParameterException", s, err)
			}
			return
		}
		p.match(msg)
		if p == nil || p.re != nil {
			return
		}
		event := strings.Join(p.required, " ")
		if len(p.optional) > 0 {
			event += " " + p.optional[0]
		}
		excludedInside := false
		for _, x := range p.excluded {
			excludedInside = excludedInside || strings.Contains(event, x)
		}
		if p.match(event) == excludedInside {
			t.Fatalf("pattern %q (required %q, optional %q, excluded %q): match(%q) = %v", s, p.required, p.optional, p.excluded, event, !excludedInside)
		}
	})
}
