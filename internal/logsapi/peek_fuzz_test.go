package logsapi

import (
	"encoding/json"
	"testing"
)

// FuzzPeekNames: whatever the body, the names the gate authorizes are the
// names the operation will decode.
func FuzzPeekNames(f *testing.F) {
	for _, s := range []string{
		`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"m"}]}`,
		`{"logEvents":[],"logStreamName":"s","logGroupName":"g"}`,
		`{"logGroupName":"mine","LOGGROUPNAME":"other","logStreamName":"s"}`,
		`{"logGroupName":"a","logGroupName":"b"}`,
		`{"logGroupIdentifier":"arn:aws:logs:us-east-1:123456789012:log-group:g","logGroupName":null}`,
		`{"logGroupName":7}`, `[]`, `{`, `{"x":{"logGroupName":"nested"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want struct {
			Group      *string `json:"logGroupName"`
			Identifier *string `json:"logGroupIdentifier"`
			Stream     *string `json:"logStreamName"`
		}
		err := json.Unmarshal(body, &want)
		got, ok := peekNames(body)
		if err != nil {
			return // the operation refuses the body, whatever the gate saw
		}
		if !ok {
			t.Fatalf("peekNames(%q) refused a body the operation decodes", body)
		}
		deref := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		if got.Group != deref(want.Group) || got.Identifier != deref(want.Identifier) || got.Stream != deref(want.Stream) {
			t.Fatalf("peekNames(%q) = %+v; the operation decodes %q %q %q", body, got, deref(want.Group), deref(want.Identifier), deref(want.Stream))
		}
	})
}
