package logsapi

import (
	"regexp"
	"strings"
)

// pattern is a parsed filter pattern for unstructured log events. An event
// matches when it contains every required term, none of the excluded ones,
// and, when there are optional (?) terms, at least one of those. Terms match
// anywhere in the message, case-sensitively, as CloudWatch Logs matches them.
// A pattern written %...% is a regular expression instead.
type pattern struct {
	required, excluded, optional []string
	re                           *regexp.Regexp
}

// parsePattern parses a filter pattern; nil means every event matches.
func parsePattern(s string) (*pattern, error) {
	if len(s) > maxPatternLen {
		return nil, invalid("1 validation error detected: Value at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to %d.", maxPatternLen)
	}
	t := strings.TrimSpace(s)
	switch {
	case t == "" || t == `""`:
		return nil, nil
	case t[0] == '{':
		return nil, invalid("Invalid filter pattern %q: JSON filter patterns ({ $.field = value }) are not supported by Wharf; use terms, \"quoted phrases\", -exclusions, ?alternatives or a %%regular expression%%.", s)
	case t[0] == '[':
		return nil, invalid("Invalid filter pattern %q: space-delimited filter patterns ([field1, field2, ...]) are not supported by Wharf; use terms, \"quoted phrases\", -exclusions, ?alternatives or a %%regular expression%%.", s)
	case len(t) >= 2 && t[0] == '%' && t[len(t)-1] == '%':
		re, err := regexp.Compile(t[1 : len(t)-1])
		if err != nil {
			return nil, invalid("Invalid filter pattern %q: the regular expression between the %% signs does not compile: %v.", s, err)
		}
		return &pattern{re: re}, nil
	}
	p := &pattern{}
	for i := 0; i < len(t); {
		if isSpace(t[i]) {
			i++
			continue
		}
		list := &p.required
		switch t[i] {
		case '-':
			list = &p.excluded
			i++
		case '?':
			list = &p.optional
			i++
		}
		term, next, err := readTerm(t, i)
		if err != nil {
			return nil, invalid("Invalid filter pattern %q: %s.", s, err)
		}
		if term != "" {
			*list = append(*list, term)
		}
		i = next
	}
	return p, nil
}

type patternError string

func (e patternError) Error() string { return string(e) }

// readTerm reads a bare word or a "quoted phrase" (with \" and \\ escapes)
// starting at i, and returns it with the index after it.
func readTerm(t string, i int) (string, int, error) {
	if i >= len(t) || isSpace(t[i]) {
		return "", i, patternError("a '-' or '?' must be followed by a term")
	}
	if t[i] != '"' {
		j := i
		for j < len(t) && !isSpace(t[j]) {
			if t[j] == '"' {
				return "", j, patternError("a quote inside a term: quote the whole phrase, as in \"two words\"")
			}
			j++
		}
		return t[i:j], j, nil
	}
	var b strings.Builder
	for j := i + 1; j < len(t); j++ {
		switch c := t[j]; {
		case c == '\\' && j+1 < len(t) && (t[j+1] == '"' || t[j+1] == '\\'):
			b.WriteByte(t[j+1])
			j++
		case c == '"':
			if j+1 < len(t) && !isSpace(t[j+1]) {
				return "", j, patternError("a quoted phrase must be followed by a space or the end of the pattern")
			}
			return b.String(), j + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", len(t), patternError("a quoted phrase is not closed: add the closing \"")
}

// isSpace reports whether c separates terms: the white space TrimSpace
// trims, in ASCII.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// match reports whether an event's message matches; a nil pattern matches
// everything.
func (p *pattern) match(msg string) bool {
	if p == nil {
		return true
	}
	if p.re != nil {
		return p.re.MatchString(msg)
	}
	for _, t := range p.required {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	for _, t := range p.excluded {
		if strings.Contains(msg, t) {
			return false
		}
	}
	if len(p.optional) == 0 {
		return true
	}
	for _, t := range p.optional {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}
