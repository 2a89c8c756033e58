package awsproto_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// FuzzDispatch sends arbitrary target and body pairs through the Mux. Whatever
// arrives, the answer is never a 5xx (the registered handler cannot fail, so
// only decoding or dispatch could), every error carries the same code in the
// header and in the body, and every success is a JSON object.
func FuzzDispatch(f *testing.F) {
	for _, seed := range []struct{ target, body string }{
		{prefix + ".Echo", `{}`},
		{prefix + ".Echo", ``},
		{prefix + ".Echo", `{"name":"x","count":3,"on":true,"list":["a"],"map":{"k":"v"},"nested":{"key":"k"},"tags":[{"key":"k","value":"v"}],"at":1700000000.123}`},
		{prefix + ".Echo", `{"at":"2023-11-14T22:13:20Z"}`},
		{prefix + ".Echo", `{"count":"1"}`},
		{prefix + ".Echo", `[]`},
		{prefix + ".NotYet", `{}`},
		{prefix + ".Nope", `{}`},
		{"", `{}`},
	} {
		f.Add(seed.target, []byte(seed.body))
	}
	m := newMux()
	f.Fuzz(func(t *testing.T, target string, body []byte) {
		if target == prefix+".Panic" || target == prefix+".Fail" {
			return // these answer 500 on purpose
		}
		a := call(t, m, http.MethodPost, target, body)
		if a.status >= 500 {
			t.Fatalf("target %q body %q: status %d (%s)", target, body, a.status, a.body)
		}
		var obj map[string]any
		if err := json.Unmarshal(a.body, &obj); err != nil {
			t.Fatalf("target %q body %q: answer %q is not a JSON object: %v", target, body, a.body, err)
		}
		if a.status == http.StatusOK {
			if a.header.Get("X-Amzn-ErrorType") != "" {
				t.Fatalf("target %q body %q: success with X-Amzn-ErrorType %q", target, body, a.header.Get("X-Amzn-ErrorType"))
			}
			return
		}
		if a.errType == "" || a.header.Get("X-Amzn-ErrorType") != a.errType || a.message == "" {
			t.Fatalf("target %q body %q: error %d header %q body %s; want the same code in both and a message",
				target, body, a.status, a.header.Get("X-Amzn-ErrorType"), a.body)
		}
	})
}
