package logsapi

import (
	"bytes"
	"encoding/json"
	"strings"
)

// names are the members of a request that say which group and stream it
// is about.
type names struct {
	Group      string `json:"logGroupName"`
	Identifier string `json:"logGroupIdentifier"`
	Stream     string `json:"logStreamName"`
}

// peekNames reads a request's group and stream names for the request gate
// without building the rest: a PutLogEvents body is up to a megabyte of
// events, and the gate runs before the operation decodes it. It reads the
// names as the operation's decoding will (encoding/json: keys matched
// without regard to case, the last occurrence winning), so that what is
// authorized is what is acted on. ok is false for a body that is not a
// JSON object or holds a name that is not a string; the operation refuses
// those.
func peekNames(body []byte) (n names, ok bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return n, false
	}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return n, false
		}
		key, _ := t.(string)
		var dst *string
		switch {
		case strings.EqualFold(key, "logGroupName"):
			dst = &n.Group
		case strings.EqualFold(key, "logGroupIdentifier"):
			dst = &n.Identifier
		case strings.EqualFold(key, "logStreamName"):
			dst = &n.Stream
		}
		if dst == nil {
			var skip json.RawMessage
			if err := d.Decode(&skip); err != nil {
				return n, false
			}
			continue
		}
		var v *string
		if err := d.Decode(&v); err != nil {
			return n, false
		}
		*dst = ""
		if v != nil {
			*dst = *v
		}
	}
	return n, true
}
