package console

import (
	"testing"

	"github.com/wharf-ecs/wharf/internal/auth"
)

func TestVerify(t *testing.T) {
	c := &Console{creds: auth.StaticCredentials{
		"ROOT":  {Secret: "r", Principal: &auth.Principal{Kind: auth.Root, Name: "root"}},
		"USER":  {Secret: "u", Principal: &auth.Principal{Kind: auth.User, Name: "alice"}},
		"AGENT": {Secret: "a", Principal: &auth.Principal{Kind: auth.Agent, Name: "arn:aws:ecs:us-east-1:123456789012:container-instance/c/i"}},
	}}
	for _, tc := range []struct {
		id, secret, want string
	}{
		{"ROOT", "r", "root"},
		{"USER", "u", "alice"},
		{"USER", "r", ""},
		{"USER", "", ""},
		{"AGENT", "a", ""}, // agent keys are for agents only
		{"NONE", "x", ""},
		{"", "", ""},
	} {
		got := ""
		if p := c.verify(tc.id, tc.secret); p != nil {
			got = p.Name
		}
		if got != tc.want {
			t.Errorf("verify(%q, %q) = %q; want %q", tc.id, tc.secret, got, tc.want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "/console/",
		"/console/clusters/a?x=1":    "/console/clusters/a?x=1",
		"https://evil.example/":      "/console/",
		"//evil.example/console/":    "/console/",
		"/elsewhere":                 "/console/",
		"/console/\\evil":            "/console/",
		"/console/a\r\nSet-Cookie:x": "/console/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q; want %q", in, got, want)
		}
	}
}
