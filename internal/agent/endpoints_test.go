package agent

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
)

func TestParseEndpoints(t *testing.T) {
	good := []struct {
		in   string
		want []string
	}{
		{"http://a:8080", []string{"http://a:8080"}},
		{"http://a:8080/", []string{"http://a:8080"}},
		{"http://a:8080, https://b:8443/ ,http://c", []string{"http://a:8080", "https://b:8443", "http://c"}},
		{"http://a,,", []string{"http://a"}},
	}
	for _, c := range good {
		e, err := parseEndpoints(c.in)
		if err != nil || !slices.Equal(e.urls, c.want) {
			t.Errorf("parseEndpoints(%q) = %v, %v; want %v", c.in, e, err, c.want)
		}
	}
	for _, in := range []string{"", " , ", "a:8080", "ftp://a", "http://", "http://a,b:1"} {
		if e, err := parseEndpoints(in); err == nil {
			t.Errorf("parseEndpoints(%q) = %v; want an error", in, e.urls)
		}
	}
}

// replica is a stand-in server that counts its calls and answers status.
type replica struct {
	*httptest.Server
	mu     sync.Mutex
	calls  int
	status int
}

func newReplica(t *testing.T) *replica {
	r := &replica{status: http.StatusOK}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.mu.Lock()
		r.calls++
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
		if status == http.StatusOK {
			_, _ = w.Write([]byte("{}"))
			return
		}
		_, _ = w.Write([]byte(`{"__type":"ServerException","message":"no"}`))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *replica) set(status int) (calls int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = status
	return r.calls
}

// A server that refuses connections is skipped within the same call; one
// that answers 5xx fails that call and the next goes elsewhere; a 4xx is
// the caller's problem and moves nothing.
func TestClientFailsOver(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	a, b := newReplica(t), newReplica(t)
	c := NewAPIClient(dead+","+a.URL+","+b.URL, nil, nil, "us-east-1")
	ctx := context.Background()
	call := func() error { return c.Call(ctx, "X.Op", struct{}{}, &struct{}{}) }

	if err := call(); err != nil {
		t.Fatalf("call with the first endpoint down = %v; want the second to answer", err)
	}
	if a.set(http.StatusServiceUnavailable) != 1 {
		t.Fatal("the first live endpoint did not get the call")
	}
	if err := call(); err == nil {
		t.Fatal("call answered 503 succeeded")
	}
	if err := call(); err != nil {
		t.Fatalf("call after a 503 = %v; want the next endpoint to answer", err)
	}
	if b.set(http.StatusBadRequest) != 1 {
		t.Fatal("the call after the 503 did not go to the next endpoint")
	}
	for range 2 {
		if err := call(); errorCode(err) != "ServerException" {
			t.Fatalf("call answered 400 = %v", err)
		}
	}
	if n := b.set(http.StatusOK); n != 3 {
		t.Fatalf("endpoint answering 400 got %d calls; want 3 (a client error moves nothing)", n)
	}
}
