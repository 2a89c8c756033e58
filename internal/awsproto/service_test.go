package awsproto_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

const prefix = "Test_v1"

// echoIn has a member of every kind the ECS model uses.
type echoIn struct {
	Name   string            `json:"name,omitempty"`
	Count  *int32            `json:"count,omitempty"`
	Big    *int64            `json:"big,omitempty"`
	Ratio  *float64          `json:"ratio,omitempty"`
	On     *bool             `json:"on,omitempty"`
	List   []string          `json:"list,omitempty"`
	Map    map[string]string `json:"map,omitempty"`
	Nested *struct {
		Key string `json:"key,omitempty"`
	} `json:"nested,omitempty"`
	Tags []model.Tag `json:"tags,omitempty"`
	At   *model.Time `json:"at,omitempty"`
}

// newMux serves prefix with Echo (returns its input), Fail (returns the
// error its name asks for), Panic, and a known but unimplemented NotYet.
func newMux() *awsproto.Mux {
	s := awsproto.NewService(prefix, map[string]bool{"Echo": true, "Fail": true, "Panic": true, "NotYet": true})
	awsproto.Handle(s, "Echo", func(ctx context.Context, in *echoIn) (*echoIn, error) { return in, nil })
	awsproto.Handle(s, "Fail", func(ctx context.Context, in *echoIn) (*echoIn, error) {
		if in.Name == "plain" {
			return nil, errors.New("disk on fire")
		}
		return nil, awsproto.Errorf("InvalidParameterException", "bad %s", in.Name)
	})
	awsproto.Handle(s, "Panic", func(ctx context.Context, in *echoIn) (*echoIn, error) { panic("boom") })
	m := awsproto.NewMux(nil)
	m.Add(s)
	return m
}

type answer struct {
	status  int
	header  http.Header
	body    []byte
	errType string // body __type
	message string
}

func call(t testing.TB, m http.Handler, method, target string, body []byte) answer {
	t.Helper()
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, req)
	a := answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if json.Unmarshal(a.body, &e) == nil {
		a.errType, a.message = e.Type, e.Message
	}
	return a
}

// wantError checks the error shape both SDK families parse: the code in the
// X-Amzn-ErrorType header (aws-sdk-go-v2) and in the body __type (botocore).
func wantError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Errorf("status = %d; want %d (body %s)", a.status, status, a.body)
	}
	if got := a.header.Get("X-Amzn-ErrorType"); got != code {
		t.Errorf("X-Amzn-ErrorType = %q; want %q", got, code)
	}
	if a.errType != code {
		t.Errorf("body __type = %q; want %q (body %s)", a.errType, code, a.body)
	}
	if a.message == "" {
		t.Errorf("error has no message: %s", a.body)
	}
	if a.header.Get("x-amzn-RequestId") == "" {
		t.Errorf("error answer has no x-amzn-RequestId")
	}
}

func TestDispatchErrors(t *testing.T) {
	m := newMux()
	cases := []struct {
		name, method, target, body string
		status                     int
		code                       string
	}{
		{"no target", "POST", "", `{}`, 400, "UnknownOperationException"},
		{"unknown prefix", "POST", "Other_v1.Echo", `{}`, 400, "UnknownOperationException"},
		{"no operation", "POST", prefix + ".", `{}`, 400, "UnknownOperationException"},
		{"no dot", "POST", prefix, `{}`, 400, "UnknownOperationException"},
		{"unknown operation", "POST", prefix + ".Nope", `{}`, 400, "UnknownOperationException"},
		{"known, not implemented", "POST", prefix + ".NotYet", `{}`, 400, "UnsupportedFeatureException"},
		{"GET", "GET", prefix + ".Echo", ``, 405, "MethodNotAllowedException"},
		{"not JSON", "POST", prefix + ".Echo", `name=x`, 400, "SerializationException"},
		{"JSON array", "POST", prefix + ".Echo", `[{"name":"x"}]`, 400, "SerializationException"},
		{"JSON null", "POST", prefix + ".Echo", `null`, 400, "SerializationException"},
		{"JSON string", "POST", prefix + ".Echo", `"x"`, 400, "SerializationException"},
		{"truncated", "POST", prefix + ".Echo", `{"name":"x"`, 400, "SerializationException"},
		{"trailing data", "POST", prefix + ".Echo", `{"name":"x"} {}`, 400, "SerializationException"},
		{"string for int", "POST", prefix + ".Echo", `{"count":"5"}`, 400, "SerializationException"},
		{"fraction for int", "POST", prefix + ".Echo", `{"count":1.5}`, 400, "SerializationException"},
		{"int overflow", "POST", prefix + ".Echo", `{"count":99999999999}`, 400, "SerializationException"},
		{"float overflow", "POST", prefix + ".Echo", `{"ratio":1e400}`, 400, "SerializationException"},
		{"object for list", "POST", prefix + ".Echo", `{"list":{}}`, 400, "SerializationException"},
		{"number in nested", "POST", prefix + ".Echo", `{"tags":[{"key":1}]}`, 400, "SerializationException"},
		{"bad timestamp", "POST", prefix + ".Echo", `{"at":"yesterday"}`, 400, "SerializationException"},
		{"huge timestamp", "POST", prefix + ".Echo", `{"at":1e300}`, 400, "SerializationException"},
		{"handler error", "POST", prefix + ".Fail", `{"name":"x"}`, 400, "InvalidParameterException"},
		{"handler plain error", "POST", prefix + ".Fail", `{"name":"plain"}`, 500, "ServerException"},
		{"handler panic", "POST", prefix + ".Panic", `{}`, 500, "ServerException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, call(t, m, tc.method, tc.target, []byte(tc.body)), tc.status, tc.code)
		})
	}
}

func TestDispatchMessagesSayWhatIsWrong(t *testing.T) {
	m := newMux()
	cases := []struct{ body, want string }{
		{`{"count":"5"}`, "Member count has the wrong type: got a JSON string, want a number"},
		{`{"count":99999999999}`, "Member count must be a whole number from -2147483648 to 2147483647; got 99999999999"},
		{`{"tags":[{"key":1}]}`, "Member tags.key has the wrong type"},
		{`[1]`, "must be a JSON object"},
	}
	for _, tc := range cases {
		if a := call(t, m, "POST", prefix+".Echo", []byte(tc.body)); !strings.Contains(a.message, tc.want) {
			t.Errorf("body %s: message = %q; want it to contain %q", tc.body, a.message, tc.want)
		}
	}
	a := call(t, m, "POST", prefix+".Fail", []byte(`{"name":"plain"}`))
	if strings.Contains(a.message, "disk on fire") || !strings.Contains(a.message, a.header.Get("x-amzn-RequestId")) {
		t.Errorf("ServerException message = %q; want the request ID and no internal detail", a.message)
	}
}

func TestDispatchEmptyBodyIsEmptyObject(t *testing.T) {
	m := newMux()
	for _, body := range []string{"", "  \n", "{}"} {
		a := call(t, m, "POST", prefix+".Echo", []byte(body))
		if a.status != 200 || string(a.body) != "{}" {
			t.Errorf("body %q: %d %s; want 200 {}", body, a.status, a.body)
		}
	}
}

func TestDispatchSuccessShape(t *testing.T) {
	m := newMux()
	in := `{"name":"n","count":3,"on":false,"list":["a"],"map":{"k":"v"},"nested":{"key":"x"},"at":1700000000.5,"unknownMember":1}`
	a := call(t, m, "POST", prefix+".Echo", []byte(in))
	if a.status != 200 {
		t.Fatalf("status = %d (%s); want 200", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q; want application/x-amz-json-1.1", ct)
	}
	if a.header.Get("X-Amzn-ErrorType") != "" {
		t.Errorf("success carries X-Amzn-ErrorType %q", a.header.Get("X-Amzn-ErrorType"))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &raw); err != nil {
		t.Fatalf("answer %s is not a JSON object: %v", a.body, err)
	}
	// Timestamps are epoch seconds as JSON numbers, never strings.
	if got := string(raw["at"]); got != "1700000000.5" {
		t.Errorf("timestamp on the wire = %s; want the number 1700000000.5", got)
	}
	if got := string(raw["on"]); got != "false" {
		t.Errorf("false boolean pointer on the wire = %s; want false", got)
	}
	// RFC 3339 input is accepted too, and answered as epoch seconds.
	a = call(t, m, "POST", prefix+".Echo", []byte(`{"at":"2023-11-14T22:13:20.25Z"}`))
	if err := json.Unmarshal(a.body, &raw); err != nil || string(raw["at"]) != "1700000000.25" {
		t.Errorf("RFC 3339 timestamp echoed as %s; want 1700000000.25", a.body)
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	m := newMux()
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		id := call(t, m, "POST", prefix+".Echo", nil).header.Get("x-amzn-RequestId")
		if len(id) != 36 || seen[id] {
			t.Fatalf("request ID %q: want a fresh UUID each time", id)
		}
		seen[id] = true
	}
}

func TestOversizedBodyIsRefused(t *testing.T) {
	m := newMux()
	called := false
	s := awsproto.NewService("Big_v1", map[string]bool{"Take": true})
	awsproto.Handle(s, "Take", func(ctx context.Context, in *echoIn) (*echoIn, error) {
		called = true
		return in, nil
	})
	m.Add(s)
	body := []byte(`{"name":"` + strings.Repeat("x", awsproto.MaxBodyBytes) + `"}`)
	a := call(t, m, "POST", "Big_v1.Take", body)
	if a.status < 400 || a.status > 499 {
		t.Errorf("oversized body: status %d; want 4xx", a.status)
	}
	if a.errType == "" || a.header.Get("X-Amzn-ErrorType") != a.errType {
		t.Errorf("oversized body: error %q / header %q; want the same code in both", a.errType, a.header.Get("X-Amzn-ErrorType"))
	}
	if called {
		t.Errorf("the handler ran for an oversized body")
	}
	// Just under the limit is fine.
	ok := []byte(`{"name":"` + strings.Repeat("x", awsproto.MaxBodyBytes-20) + `"}`)
	if a := call(t, m, "POST", "Big_v1.Take", ok); a.status != 200 {
		t.Errorf("body of %d bytes: status %d; want 200", len(ok), a.status)
	}
}

func TestBeforeAndAfterHooks(t *testing.T) {
	m := newMux()
	var afterOp string
	var afterErr error
	m.Before = func(r *http.Request, op awsproto.Op, _ []byte) (context.Context, error) {
		if r.Header.Get("X-Deny") != "" {
			return nil, &awsproto.Error{Code: awsproto.CodeAccessDenied, Message: "no", Status: http.StatusForbidden}
		}
		return nil, nil
	}
	m.After = func(ctx context.Context, op awsproto.Op, err error, took time.Duration) {
		afterOp, afterErr = op.Name, err
	}
	req := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", prefix+".Echo")
	req.Header.Set("X-Deny", "1")
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || rec.Header().Get("X-Amzn-ErrorType") != awsproto.CodeAccessDenied {
		t.Errorf("denied request: %d %s; want 403 AccessDeniedException", rec.Code, rec.Header().Get("X-Amzn-ErrorType"))
	}
	if afterOp != "Echo" || afterErr == nil {
		t.Errorf("After saw op %q err %v; want Echo with the denial", afterOp, afterErr)
	}
	call(t, m, "POST", prefix+".Echo", []byte(`{}`))
	if afterErr != nil {
		t.Errorf("After saw err %v for a successful call", afterErr)
	}
}

func TestBodiesThatAreNotUTF8OrNestTooDeepAreRefused(t *testing.T) {
	m := awsproto.NewMux(nil)
	s := awsproto.NewService("Svc", map[string]bool{"Op": true})
	ran := false
	awsproto.Handle(s, "Op", func(_ context.Context, in *struct{ Name string }) (*struct{}, error) {
		ran = true
		return &struct{}{}, nil
	})
	m.Add(s)
	deep := strings.Repeat(`{"a":`, awsproto.MaxJSONDepth+1) + "1" + strings.Repeat("}", awsproto.MaxJSONDepth+1)
	okDeep := `{"Name":"[[[[{{{{\"","x":` + strings.Repeat("[", 10) + strings.Repeat("]", 10) + "}"
	for _, tc := range []struct {
		name, body string
		wantOK     bool
	}{
		{"invalid utf-8", "{\"Name\":\"\xff\xfe\"}", false},
		{"too deep", deep, false},
		{"brackets inside strings do not count", okDeep, true},
	} {
		ran = false
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
		req.Header.Set("X-Amz-Target", "Svc.Op")
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, req)
		if tc.wantOK {
			if rec.Code != 200 || !ran {
				t.Errorf("%s: status %d, ran %v; want 200", tc.name, rec.Code, ran)
			}
			continue
		}
		if rec.Code != 400 || ran || rec.Header().Get("X-Amzn-ErrorType") != awsproto.CodeSerialization {
			t.Errorf("%s: status %d, type %q, ran %v; want 400 SerializationException and no call", tc.name, rec.Code, rec.Header().Get("X-Amzn-ErrorType"), ran)
		}
	}
}
