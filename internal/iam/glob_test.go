package iam

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		fold bool
		want bool
	}{
		{"", "", false, true},
		{"", "a", false, false},
		{"*", "", false, true},
		{"*", "anything/at:all", false, true},
		{"**", "x", false, true},
		{"?", "", false, false},
		{"?", "é", false, true}, // one character, two bytes
		{"??", "é", false, false},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"ecs:Describe*", "ecs:DescribeClusters", false, true},
		{"ecs:Describe*", "ecs:describeclusters", false, false},
		{"ecs:Describe*", "ECS:DESCRIBECLUSTERS", true, true},
		{"ecs:*Task", "ecs:RunTask", true, true},
		{"ecs:*Task", "ecs:RunTasks", true, false},
		{"*a*b*c", "xxaxxbxxc", false, true},
		{"*a*b*c", "xxaxxcxxb", false, false},
		{"a*a*a", "aa", false, false},
		{"a*a*a", "aaa", false, true},
		{"*/*", "service/prod/web", false, true},
		{"\\*", "\\x", false, true}, // no escapes: \ is a plain character
	} {
		if got := glob(tc.p, tc.s, tc.fold); got != tc.want {
			t.Errorf("glob(%q, %q, fold=%v) = %v; want %v", tc.p, tc.s, tc.fold, got, tc.want)
		}
	}
}

// TestGlobPathological runs the inputs that make a naive backtracking
// matcher exponential; glob finishes them in microseconds.
func TestGlobPathological(t *testing.T) {
	s := strings.Repeat("a", 2000)
	p := strings.Repeat("a*", 200) + "b"
	if glob(p, s, false) {
		t.Errorf("glob(a*a*...b, aaa...) = true; want false")
	}
	if !glob(strings.Repeat("*a", 200), s, true) {
		t.Errorf("glob(*a*a..., aaa...) = false; want true")
	}
}

func TestMatchResource(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"*", "*", true},
		{"*", prod, true},
		{"arn:aws:ecs:*:*:*", "*", false},
		{"arn:aws:ecs:*:*:*", prod, true},
		{"arn:aws:ecs:*:*:cluster/*", prodSvc, false},
		{"arn:aws:ecs:*:*:*/prod*", prodSvc, true},
		{"arn:aws:ecs:us-*:*:cluster/prod", prod, true},
		{"arn:aws:ecs:eu-*:*:cluster/prod", prod, false},
		{"arn:aws:*:*:*:cluster/prod", prod, true},
		{"arn:*:ecs:*:*:cluster/prod", prod, true},
		{"arn:aws:ecs:*:123456789012:cluster/prod", prod, true},
		{"arn:aws:ecs:*:12345678901?:cluster/prod", prod, true},
		{"arn:aws:ecs:*:1234567890:cluster/prod", prod, false},
		{"arn:aws:logs:*:*:log-group:/ecs/*", "arn:aws:logs:us-east-1:1:log-group:/ecs/web:log-stream:x", true},
		{"arn:aws:ecs:*:*:cluster/prod", "arn:aws:ecs:us-east-1:123456789012", false},
		{"arn:aws:ecs:*:*:cluster/prod", "cluster/prod", false},
	} {
		if got := matchResource(tc.p, tc.s); got != tc.want {
			t.Errorf("matchResource(%q, %q) = %v; want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

// refGlob is the obvious dynamic programme over characters, the reference
// the fuzz test holds glob to.
func refGlob(p, s string, fold bool) bool {
	pr, sr := []rune(p), []rune(s)
	// m[i][j]: pr[i:] matches sr[j:].
	m := make([][]bool, len(pr)+1)
	for i := range m {
		m[i] = make([]bool, len(sr)+1)
	}
	m[len(pr)][len(sr)] = true
	for i := len(pr) - 1; i >= 0; i-- {
		for j := len(sr); j >= 0; j-- {
			switch {
			case pr[i] == '*':
				m[i][j] = m[i+1][j] || j < len(sr) && m[i][j+1]
			case j == len(sr):
				m[i][j] = false
			case pr[i] == '?' || pr[i] == sr[j] || fold && pr[i] < utf8.RuneSelf && sr[j] < utf8.RuneSelf && lower(byte(pr[i])) == lower(byte(sr[j])):
				m[i][j] = m[i+1][j+1]
			}
		}
	}
	return m[0][0]
}

func refMatchResource(p, s string) bool {
	if !strings.Contains(p, ":") {
		return refGlob(p, s, false)
	}
	pf, sf := strings.SplitN(p, ":", arnFields), strings.SplitN(s, ":", arnFields)
	if len(pf) < arnFields || len(sf) < arnFields {
		return false
	}
	for k := range pf {
		if !refGlob(pf[k], sf[k], false) {
			return false
		}
	}
	return true
}

func FuzzGlob(f *testing.F) {
	for _, seed := range [][2]string{
		{"*", ""}, {"a*b?c", "aXXbYc"}, {"ecs:Describe*", "ECS:describeClusters"}, {"*a*a*a*b", "aaaaaaaaaaaa"},
		{"?é*", "xéé"}, {"arn:aws:ecs:*:*:cluster/*", prod}, {"arn:*:*:*:*:*", "arn:a:b:c:d:e:f"}, {"a:*:b", "a:x:b"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		if !utf8.ValidString(p) || !utf8.ValidString(s) || len(p) > 64 || len(s) > 256 {
			return // JSON text is UTF-8; the reference is quadratic in memory
		}
		for _, fold := range []bool{false, true} {
			if got, want := glob(p, s, fold), refGlob(p, s, fold); got != want {
				t.Fatalf("glob(%q, %q, fold=%v) = %v; the reference says %v", p, s, fold, got, want)
			}
		}
		if got, want := matchResource(p, s), refMatchResource(p, s); got != want {
			t.Fatalf("matchResource(%q, %q) = %v; the reference says %v", p, s, got, want)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecs:*","Resource":"*"}}`,
		`{"Statement":[{"Sid":"A","Effect":"Deny","NotAction":["ecs:Run*"],"NotResource":"arn:aws:ecs:*:*:cluster/x"}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{}}]}`,
		`{"Statement":[null]}`, `{"Statement":[[]]}`, `{"Statement":{"Action":[1]}}`, `[]`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a policy with error %v", err)
			}
			return
		}
		if len(p.Statements) == 0 {
			t.Fatalf("Parse(%q) accepted a policy without statements", doc)
		}
		for i, st := range p.Statements {
			if st.Effect != Allow && st.Effect != Deny || len(st.Actions) == 0 || len(st.Resources) == 0 {
				t.Fatalf("Parse(%q): statement %d is incomplete: %+v", doc, i, st)
			}
		}
		// Whatever was accepted evaluates without trouble.
		Evaluate([]*Policy{p}, "ecs:RunTask", []string{prod, NoResource})
	})
}
