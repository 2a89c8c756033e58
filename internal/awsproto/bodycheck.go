package awsproto

import "unicode/utf8"

// MaxJSONDepth bounds how deeply a request body may nest objects and lists.
// No ECS input nests beyond a dozen levels; the bound keeps a hostile body
// from costing the decoder stack and time.
const MaxJSONDepth = 64

// checkBody refuses bodies that are not valid UTF-8 or nest too deeply.
// encoding/json would silently replace invalid UTF-8 with U+FFFD, storing
// something the client did not send; AWS refuses such bodies outright.
func checkBody(body []byte) error {
	if !utf8.Valid(body) {
		return Errorf(CodeSerialization, "The request body is not valid UTF-8; JSON text must be encoded as UTF-8.")
	}
	depth, inString, escaped := 0, false, false
	for _, c := range body {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > MaxJSONDepth {
				return Errorf(CodeSerialization, "The request body nests objects and lists more than %d levels deep.", MaxJSONDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}
