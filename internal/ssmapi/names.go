package ssmapi

import (
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
)

// Limits of the Standard tier and of names, as the SSM documentation gives them.
const (
	maxNameLen        = 2048
	maxLevels         = 15
	maxValueBytes     = 4096
	maxDescriptionLen = 1024
	maxPatternLen     = 1024
)

const nameRules = `A name holds only a-z A-Z 0-9 _ . - and "/", which separates hierarchy levels: "/app/prod/db-password" or a plain "db-password"`

// validNameChar reports whether c may appear in a parameter name or path.
func validNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '/'
}

// checkName validates a name for PutParameter and returns it with the
// spaces around it removed, as SSM does.
func checkName(name string) (string, error) {
	name = strings.Trim(name, " ")
	if err := checkShape(name, "name"); err != nil {
		return "", err
	}
	first := strings.ToLower(strings.TrimPrefix(name, "/"))
	if strings.HasPrefix(first, "aws") || strings.HasPrefix(first, "ssm") {
		return "", validation("Parameter name %q is reserved: a name can't begin with \"aws\" or \"ssm\" (in any case), with or without a leading \"/\". Choose another name.", name)
	}
	return name, nil
}

// checkShape checks what names and paths share: length, characters,
// hierarchy form and depth. what is "name" or "path" for the messages.
func checkShape(s, what string) error {
	if s == "" {
		return validation("The parameter %s must not be empty. %s.", what, nameRules)
	}
	if len(s) > maxNameLen {
		return validation("The parameter %s is %d characters long; the limit is %d.", what, len(s), maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		if !validNameChar(s[i]) {
			return validation("The parameter %s %q holds %s at position %d. %s.", what, s, describeChar(s, i), i+1, nameRules)
		}
	}
	if strings.Contains(s, "/") && s[0] != '/' {
		return validation("Parameter %s %q must be a fully qualified name: a name in a hierarchy begins with \"/\" (for example \"/%s\").", what, s, s)
	}
	if strings.Contains(s, "//") {
		return validation("The parameter %s %q has an empty hierarchy level (\"//\"); remove the extra \"/\".", what, s)
	}
	if what == "name" && strings.HasSuffix(s, "/") {
		return validation("The parameter name %q ends with \"/\"; a name's last level can't be empty.", s)
	}
	if n := levels(s); n > maxLevels {
		return awsproto.Errorf(codeHierarchyLevelLimit, "The parameter %s %q has %d hierarchy levels; a hierarchy can have at most %d.", what, s, n, maxLevels)
	}
	return nil
}

// describeChar names the byte at i for a message without echoing anything
// unprintable.
func describeChar(s string, i int) string {
	c := s[i]
	switch {
	case c == ' ':
		return "a space"
	case c > ' ' && c < 0x7f:
		return strconv.Quote(string(c))
	}
	return "the byte " + strconv.Quote(string(c))
}

// levels counts a name's or path's hierarchy levels: "/a/b" has two, "a" one.
func levels(s string) int {
	s = strings.Trim(s, "/")
	if s == "" {
		return 0
	}
	return strings.Count(s, "/") + 1
}

// checkPath validates GetParametersByPath's Path and DescribeParameters'
// Path filter values, and returns the path without a trailing "/" ("/" stays).
func checkPath(p string) (string, error) {
	if p == "" || p[0] != '/' {
		return "", validation("The path %q must begin with \"/\" (for example \"/app/prod\", or \"/\" for the top level).", p)
	}
	if err := checkShape(p, "path"); err != nil {
		return "", err
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p, nil
}

// ref is what a read names: a parameter, and optionally one of its versions.
type ref struct {
	Name     string
	Selector string // "" or ":N" as given
	Version  int64  // 0: the latest
	fromARN  bool
}

// parseRef reads a GetParameter-style reference: a name or a parameter ARN,
// optionally followed by ":version". Labels are not supported (Wharf has no
// LabelParameterVersion), so a selector must be a version number.
func (a *API) parseRef(s string) (ref, error) {
	s = strings.Trim(s, " ")
	var r ref
	if strings.HasPrefix(s, "arn:") {
		name, err := a.nameFromARN(s)
		if err != nil {
			return r, err
		}
		s, r.fromARN = name, true
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		sel := s[i+1:]
		v, err := strconv.ParseInt(sel, 10, 64)
		if err != nil || v < 1 {
			return r, awsproto.Errorf(codeParameterVersionNotFound, "Selector %q of %q is not a version number; Wharf supports \"name:version\" selectors only (no labels).", sel, s[:i])
		}
		r.Selector, r.Version, s = s[i:], v, s[:i]
	}
	if err := checkShape(s, "name"); err != nil {
		return r, err
	}
	r.Name = s
	return r, nil
}

// arn returns a parameter's ARN: "/a/b" and "a" become "parameter/a/b" and
// "parameter/a".
func (a *API) arn(name string) string {
	return "arn:aws:ssm:" + a.region + ":" + a.account + ":parameter/" + strings.TrimPrefix(name, "/")
}

// nameFromARN returns the parameter name an ARN of this region and account
// names. A resource with one level ("parameter/a") is the plain name "a";
// with more ("parameter/a/b") it is the hierarchical "/a/b". The lookup of a
// one-level name also tries "/a" (see (*API).find).
func (a *API) nameFromARN(s string) (string, error) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[1] == "" {
		return "", validation("%q is not an ARN of the form arn:aws:ssm:REGION:ACCOUNT:parameter/NAME.", s)
	}
	if f[2] == "secretsmanager" {
		return "", validation("%q names a Secrets Manager secret. Wharf has no Secrets Manager; store the secret in its SSM Parameter Store (PutParameter with Type SecureString) and refer to the parameter.", s)
	}
	if f[2] != "ssm" || !strings.HasPrefix(f[5], "parameter/") {
		return "", validation("%q is not a parameter ARN; parameter ARNs have the form arn:aws:ssm:REGION:ACCOUNT:parameter/NAME.", s)
	}
	if f[3] != a.region || f[4] != a.account {
		return "", validation("%q is in region %q, account %q; this endpoint serves region %s, account %s only.", s, f[3], f[4], a.region, a.account)
	}
	name := strings.TrimPrefix(f[5], "parameter/")
	if strings.Contains(name, "/") {
		name = "/" + name
	}
	return name, nil
}
