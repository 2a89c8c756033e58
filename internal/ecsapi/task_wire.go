package ecsapi

import (
	"bytes"
	"errors"
)

// DescribeTasks answers with the stored documents themselves rather than
// decoding each task into model.Task and encoding it again: for 100 tasks
// that round trip was most of the server's time. A stored task is the ECS
// shape plus top-level members of Wharf's own (named wharf…), so showing it
// means dropping those members, and the tags unless they were asked for.

var errBadDoc = errors.New("stored task is not a JSON object")

// appendWireTask appends doc, a stored task, to out as the API shows it. It
// walks the top-level members without decoding their values.
func appendWireTask(out, doc []byte, withTags bool) ([]byte, error) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, errBadDoc
	}
	out = append(out, '{')
	open := len(out)
	i++
	first := true
	for {
		i = skipSpace(doc, i)
		if i >= len(doc) {
			return nil, errBadDoc
		}
		if doc[i] == '}' {
			return append(out, '}'), nil
		}
		if doc[i] == ',' && !first {
			i = skipSpace(doc, i+1)
		}
		keyStart := i
		keyEnd, err := skipString(doc, i)
		if err != nil {
			return nil, err
		}
		i = skipSpace(doc, keyEnd)
		if i >= len(doc) || doc[i] != ':' {
			return nil, errBadDoc
		}
		valStart := skipSpace(doc, i+1)
		valEnd, err := skipValue(doc, valStart)
		if err != nil {
			return nil, err
		}
		i = valEnd
		key := doc[keyStart+1 : keyEnd-1]
		if bytes.HasPrefix(key, []byte("wharf")) || !withTags && string(key) == "tags" {
			first = false
			continue
		}
		if len(out) > open {
			out = append(out, ',')
		}
		out = append(out, doc[keyStart:keyEnd]...)
		out = append(out, ':')
		out = append(out, doc[valStart:valEnd]...)
		first = false
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at b[i].
func skipString(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, errBadDoc
	}
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errBadDoc
}

// skipValue returns the index just past the JSON value that starts at b[i].
// Objects and arrays are skipped by depth, strings inside them whole, so a
// bracket in a string cannot end them early.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errBadDoc
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errBadDoc
	}
	start := i
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
		i++
	}
	if i == start {
		return 0, errBadDoc
	}
	return i, nil
}
