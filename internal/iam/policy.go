// Package iam holds Wharf's identity policies: the IAM policy language as far
// as Wharf can honour it faithfully, and its evaluation.
//
// A policy is the JSON document AWS IAM uses for identity-based policies:
//
//	{"Version": "2012-10-17",
//	 "Statement": [{"Sid": "ReadProd", "Effect": "Allow",
//	                "Action": ["ecs:Describe*", "ecs:List*"],
//	                "Resource": "arn:aws:ecs:us-east-1:123456789012:cluster/prod"}]}
//
// Parse refuses what Wharf cannot evaluate the way IAM would (Condition,
// Principal, policy variables, unknown members) instead of ignoring it:
// a statement read without its Condition grants more than its author meant.
// Evaluate is pure and allocation-free; it runs on every API call.
package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Effect is what a statement does to the requests it matches.
type Effect string

// The two effects; IAM spells them with this exact case.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// The policy language versions IAM accepts. Only 2012-10-17 has policy
// variables (${aws:username}); a document without Version is 2008-10-17.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Policy is a parsed identity-based policy.
type Policy struct {
	Version    string // as written; "" when absent
	ID         string // the optional "Id" element
	Statements []Statement
}

// Statement is one statement of a policy. Exactly one of Action and
// NotAction, and one of Resource and NotResource, is in effect, as the Not
// flags say.
type Statement struct {
	Sid    string
	Effect Effect
	// Actions are "service:Operation" patterns (or "*"), matched
	// case-insensitively; with NotAction the statement matches every action
	// none of them matches.
	Actions   []string
	NotAction bool
	// Resources are ARN patterns (or "*"), matched case-sensitively; with
	// NotResource the statement matches every resource none of them matches.
	Resources   []string
	NotResource bool
}

// Parse reads an identity-based policy document. Errors name the statement
// (its index and Sid) and the member at fault and say what to write instead.
func Parse(doc []byte) (*Policy, error) {
	if !json.Valid(doc) {
		return nil, syntaxError(doc)
	}
	members, err := objectMembers(doc, "the policy")
	if err != nil {
		return nil, err
	}
	p := &Policy{}
	var statements json.RawMessage
	for _, m := range members {
		switch m.name {
		case "Version":
			if err := json.Unmarshal(m.value, &p.Version); err != nil || p.Version != Version2012 && p.Version != Version2008 {
				return nil, fmt.Errorf("policy Version is %s: use \"%s\" (the current language) or \"%s\", or leave Version out", show(m.value), Version2012, Version2008)
			}
		case "Id":
			if err := json.Unmarshal(m.value, &p.ID); err != nil {
				return nil, fmt.Errorf("policy Id is %s: it must be a string", show(m.value))
			}
		case "Statement":
			statements = m.value
		default:
			return nil, unknownMember("the policy", m.name, "Version, Id and Statement")
		}
	}
	if statements == nil {
		return nil, errors.New(`the policy has no Statement: add "Statement": [{"Effect": "Allow", "Action": ..., "Resource": ...}]`)
	}
	raws, single, err := statementList(statements)
	if err != nil {
		return nil, err
	}
	for i, raw := range raws {
		where := fmt.Sprintf("Statement[%d]", i)
		if single {
			where = "Statement"
		}
		st, err := parseStatement(raw, where, p.Version == Version2012)
		if err != nil {
			return nil, err
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

// statementList accepts one statement object or a non-empty list of them.
func statementList(raw json.RawMessage) (list []json.RawMessage, single bool, err error) {
	switch raw[0] {
	case '{':
		return []json.RawMessage{raw}, true, nil
	case '[':
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, false, err
		}
		if len(list) == 0 {
			return nil, false, errors.New("the policy's Statement list is empty: a policy needs at least one statement")
		}
		return list, false, nil
	}
	return nil, false, fmt.Errorf("the policy's Statement is %s: it must be a statement object or a list of them", kind(raw))
}

func parseStatement(raw json.RawMessage, where string, variables bool) (Statement, error) {
	var st Statement
	if raw[0] != '{' {
		return st, fmt.Errorf("%s is %s: a statement is an object with Effect, Action and Resource", where, kind(raw))
	}
	members, err := objectMembers(raw, where)
	if err != nil {
		return st, err
	}
	// The Sid names the statement in every later message.
	for _, m := range members {
		if m.name == "Sid" {
			if err := json.Unmarshal(m.value, &st.Sid); err != nil || !validSid(st.Sid) {
				return st, fmt.Errorf("%s: Sid is %s: use letters and digits only (A-Z, a-z, 0-9)", where, show(m.value))
			}
			if st.Sid != "" {
				where += fmt.Sprintf(" (Sid %q)", st.Sid)
			}
		}
	}
	var hasAction, hasResource bool
	for _, m := range members {
		switch m.name {
		case "Sid":
		case "Effect":
			var e string
			if err := json.Unmarshal(m.value, &e); err != nil || e != string(Allow) && e != string(Deny) {
				return st, fmt.Errorf("%s: Effect is %s: it must be \"Allow\" or \"Deny\", spelled with this case", where, show(m.value))
			}
			st.Effect = Effect(e)
		case "Action", "NotAction":
			if st.Actions, err = patterns(m, where, "Action and NotAction", hasAction, checkAction); err != nil {
				return st, err
			}
			hasAction, st.NotAction = true, m.name == "NotAction"
		case "Resource", "NotResource":
			check := func(r string) error { return checkResource(r, variables) }
			if st.Resources, err = patterns(m, where, "Resource and NotResource", hasResource, check); err != nil {
				return st, err
			}
			hasResource, st.NotResource = true, m.name == "NotResource"
		case "Condition":
			return st, fmt.Errorf("%s has a Condition, which Wharf does not evaluate; ignoring it would grant more than the statement means. Remove it and narrow Action and Resource instead", where)
		case "Principal", "NotPrincipal":
			return st, fmt.Errorf("%s has a %s: identity-based policies apply to the user or agent they are attached to and name no principal. Remove it", where, m.name)
		default:
			return st, unknownMember(where, m.name, "Sid, Effect, Action or NotAction, Resource or NotResource")
		}
	}
	switch {
	case st.Effect == "":
		return st, fmt.Errorf("%s has no Effect: add \"Effect\": \"Allow\" or \"Effect\": \"Deny\"", where)
	case !hasAction:
		return st, fmt.Errorf("%s has no Action: add \"Action\" with the actions it covers, e.g. \"ecs:Describe*\" (or NotAction)", where)
	case !hasResource:
		return st, fmt.Errorf("%s has no Resource: add \"Resource\" with the ARNs it covers, or \"*\" for every resource (or NotResource)", where)
	}
	return st, nil
}

// patterns reads the patterns of an Action, NotAction, Resource or
// NotResource member; had says whether the statement already has one of
// the pair (Action and NotAction, Resource and NotResource).
func patterns(m member, where, pair string, had bool, check func(string) error) ([]string, error) {
	if had {
		return nil, fmt.Errorf("%s has both %s: keep one of them", where, pair)
	}
	list, err := stringList(m.value, where, m.name)
	if err != nil {
		return nil, err
	}
	for _, v := range list {
		if err := check(v); err != nil {
			return nil, fmt.Errorf("%s: %s %q %v", where, m.name, v, err)
		}
	}
	return list, nil
}

// stringList accepts a string or a non-empty list of strings.
func stringList(raw json.RawMessage, where, name string) ([]string, error) {
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	case '[':
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("%s: %s is an empty list: name at least one, or remove the statement", where, name)
		}
		out := make([]string, len(list))
		for i, v := range list {
			if v[0] != '"' {
				return nil, fmt.Errorf("%s: %s[%d] is %s: it must be a string", where, name, i, kind(v))
			}
			if err := json.Unmarshal(v, &out[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: %s is %s: it must be a string or a list of strings", where, name, kind(raw))
}

// checkAction accepts "*" and "service:Operation" patterns whose service
// prefix is spelled out (IAM allows no wildcard there).
func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	svc, op, ok := strings.Cut(a, ":")
	if !ok || svc == "" || op == "" {
		return errors.New(`is not an action: write "service:Operation" (e.g. "ecs:RunTask" or "ecs:Describe*"), or "*" for every action`)
	}
	for i := 0; i < len(svc); i++ {
		if c := lower(svc[i]); !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return errors.New(`has an invalid service prefix: use letters, digits and hyphens without wildcards, e.g. "ecs:*"`)
		}
	}
	for i := 0; i < len(op); i++ {
		if c := lower(op[i]); !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '*' || c == '?' || c == '_' || c == '-') {
			return errors.New(`has an invalid operation name: use letters, digits and the wildcards * and ?, e.g. "ecs:Describe*"`)
		}
	}
	return nil
}

// checkResource accepts "*" and ARN patterns with all six fields, so that
// each field is matched against its own (see matchResource).
func checkResource(r string, variables bool) error {
	if r == "*" {
		return nil
	}
	if !strings.HasPrefix(r, "arn:") || strings.Count(r, ":") < arnFields-1 {
		return errors.New(`is neither "*" nor an ARN: write arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, e.g. arn:aws:ecs:*:*:cluster/prod (any field may use * and ?)`)
	}
	if variables && strings.Contains(r, "${") {
		return errors.New(`uses a policy variable (${...}), which Wharf does not substitute; write the value out`)
	}
	return nil
}

func validSid(s string) bool {
	for i := 0; i < len(s); i++ {
		c := lower(s[i])
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

type member struct {
	name  string
	value json.RawMessage
}

// objectMembers splits a JSON object (already known to be valid JSON) into
// its members in order, refusing duplicate names (encoding/json would
// silently keep the last one) and null values.
func objectMembers(raw []byte, where string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%s is %s: it must be a JSON object", where, kind(raw))
	}
	var out []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("%s has %s twice: keep one", where, name)
		}
		seen[name] = true
		if string(v) == "null" {
			return nil, fmt.Errorf("%s: %s is null: give it a value or leave it out", where, name)
		}
		out = append(out, member{name, v})
	}
	return out, nil
}

var knownMembers = []string{"Version", "Id", "Statement", "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Principal", "NotPrincipal"}

func unknownMember(where, name, allowed string) error {
	for _, k := range knownMembers {
		if strings.EqualFold(k, name) && k != name {
			return fmt.Errorf("%s has a member %q: did you mean %q? Member names are case-sensitive", where, name, k)
		}
	}
	return fmt.Errorf("%s has an unknown member %q: Wharf understands %s here and refuses anything else rather than ignore it", where, name, allowed)
}

// show quotes a member's value in a message, cut short if it is long.
func show(raw []byte) string {
	n := 64
	if len(raw) <= n {
		return string(raw)
	}
	for n > 0 && !utf8.RuneStart(raw[n]) {
		n--
	}
	return string(raw[:n]) + "..."
}

// kind names the JSON type of a value for messages.
func kind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func syntaxError(doc []byte) error {
	var v any
	err := json.Unmarshal(doc, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("the policy is not valid JSON (at byte %d): %v", se.Offset, se)
	}
	return fmt.Errorf("the policy is not valid JSON: %v", err)
}
