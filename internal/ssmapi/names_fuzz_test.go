package ssmapi

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wharf-ecs/wharf/internal/awsproto"
)

// FuzzNames checks that name, path and reference parsing never panic, that
// every refusal is an API error with a message, and that what is accepted
// keeps the rules: allowed characters only, at most 15 levels, a "/" only in
// a fully qualified name, no empty level.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"/a/b", "plain", "a/b", "/a//b", "/", "", " /x ", "/aws/x", "SSM", "/a:3",
		"arn:aws:ssm:us-east-1:123456789012:parameter/a/b:2", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
		strings.Repeat("/l", 16), "/a b", "/é", "x:label", "arn:", "arn:aws:ssm:us-east-1:123456789012:parameter/"} {
		f.Add(s)
	}
	a := New(Config{Region: "us-east-1", AccountID: "123456789012"})
	f.Fuzz(func(t *testing.T, s string) {
		if name, err := checkName(s); err == nil {
			assertShape(t, "checkName", s, name)
			low := strings.ToLower(strings.TrimPrefix(name, "/"))
			if strings.HasPrefix(low, "aws") || strings.HasPrefix(low, "ssm") {
				t.Fatalf("checkName(%q) accepted a reserved name", s)
			}
		} else {
			assertAPIError(t, "checkName", s, err)
		}
		if p, err := checkPath(s); err == nil {
			if p[0] != '/' || levels(p) > maxLevels || (len(p) > 1 && strings.HasSuffix(p, "/")) {
				t.Fatalf("checkPath(%q) = %q", s, p)
			}
		} else {
			assertAPIError(t, "checkPath", s, err)
		}
		if r, err := a.parseRef(s); err == nil {
			assertShape(t, "parseRef", s, r.Name)
			if (r.Selector == "") != (r.Version == 0) {
				t.Fatalf("parseRef(%q) = %+v: selector and version disagree", s, r)
			}
		} else {
			assertAPIError(t, "parseRef", s, err)
		}
	})
}

func assertShape(t *testing.T, fn, in, name string) {
	t.Helper()
	if name == "" || len(name) > maxNameLen || levels(name) > maxLevels || strings.Contains(name, "//") ||
		strings.HasSuffix(name, "/") || strings.Contains(name, "/") && name[0] != '/' {
		t.Fatalf("%s(%q) accepted %q", fn, in, name)
	}
	for i := 0; i < len(name); i++ {
		if !validNameChar(name[i]) {
			t.Fatalf("%s(%q) accepted %q with byte %q", fn, in, name, name[i])
		}
	}
}

func assertAPIError(t *testing.T, fn, in string, err error) {
	t.Helper()
	e, ok := awsproto.AsError(err)
	if !ok || e.Status != 400 || e.Message == "" || !utf8.ValidString(e.Message) {
		t.Fatalf("%s(%q) error %v; want a client API error with a message", fn, in, err)
	}
}
