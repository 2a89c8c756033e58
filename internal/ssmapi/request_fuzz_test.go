package ssmapi_test

import (
	"encoding/json"
	"testing"
)

var fuzzOps = []string{"PutParameter", "GetParameter", "GetParameters", "GetParametersByPath",
	"GetParameterHistory", "DeleteParameter", "DeleteParameters", "DescribeParameters"}

// FuzzRequests sends arbitrary bodies to every operation. Whatever arrives,
// the answer is a JSON object and never a server error: bad input is the
// client's, and says so.
func FuzzRequests(f *testing.F) {
	for _, s := range []struct {
		op   uint8
		body string
	}{
		{0, `{"Name":"/a/b","Value":"v","Type":"SecureString"}`},
		{0, `{"Name":"/a/b","Value":"v","Type":"String","Overwrite":true,"AllowedPattern":"v+","Tags":[{"Key":"k","Value":"v"}]}`},
		{1, `{"Name":"/a/b:1","WithDecryption":true}`},
		{2, `{"Names":["/a/b","x","arn:aws:ssm:us-east-1:123456789012:parameter/a/b"]}`},
		{3, `{"Path":"/","Recursive":true,"MaxResults":1,"ParameterFilters":[{"Key":"Type","Values":["String"]}]}`},
		{3, `{"Path":"/a","NextToken":"eyJvIjoiR2V0UGFyYW1ldGVyc0J5UGF0aCIsImEiOiJwYXJhbWV0ZXJzLy9hL2IifQ"}`},
		{4, `{"Name":"/a/b","MaxResults":1}`},
		{5, `{"Name":"/a/b"}`},
		{6, `{"Names":["/a/b"]}`},
		{7, `{"ParameterFilters":[{"Key":"tag:x","Option":"BeginsWith","Values":["y"]},{"Key":"Path","Option":"Recursive","Values":["/"]}]}`},
		{7, `{"Filters":[{"Key":"Name","Values":["/a"]}],"MaxResults":50}`},
		{0, `{"Name":7}`},
		{1, `[]`},
	} {
		f.Add(s.op, []byte(s.body))
	}
	e := start(f)
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := fuzzOps[int(op)%len(fuzzOps)]
		status, code, answer := e.raw(t, name, string(body))
		if status >= 500 {
			t.Fatalf("%s %q: status %d %s", name, body, status, answer)
		}
		var obj map[string]any
		if err := json.Unmarshal(answer, &obj); err != nil {
			t.Fatalf("%s %q: answer %q is not a JSON object", name, body, answer)
		}
		if status != 200 && (code == "" || obj["message"] == nil || obj["message"] == "") {
			t.Fatalf("%s %q: error %d without a code and message: %s", name, body, status, answer)
		}
	})
}
