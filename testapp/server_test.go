package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestEndpoints(t *testing.T) {
	t.Setenv("TESTAPP_GREETING", "hello")
	a := newApp(config{port: 8080, exitCode: -1})
	h := a.routes()

	steps := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{"/health", 200, "ok"},
		{"/fail", 200, "healthy: false"},
		{"/health", 500, "unhealthy"},
		{"/recover", 200, "healthy: true"},
		{"/health", 200, "ok"},
		{"/env/TESTAPP_GREETING", 200, "hello"},
		{"/env/TESTAPP_SURELY_UNSET", 404, "not set"},
		{"/", 200, "hostname: "},
		{"/nope", 404, ""},
		{"/exit/abc", 400, "0-255"},
		{"/exit/7", 200, "exiting with code 7"},
	}
	for _, s := range steps {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, s.path, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != s.wantCode || !strings.Contains(string(body), s.wantBody) {
			t.Errorf("GET %s = %d %q; want %d containing %q", s.path, rec.Code, body, s.wantCode, s.wantBody)
		}
	}
	if got := <-a.exitRequests; got != 7 {
		t.Errorf("exit request = %d; want 7", got)
	}
}

func TestHealthcheck(t *testing.T) {
	a := newApp(config{exitCode: -1})
	srv := httptest.NewServer(a.routes())
	defer srv.Close()

	if got := healthcheck(srv.URL+"/health", timeout, io.Discard); got != 0 {
		t.Errorf("healthcheck(healthy) = %d; want 0", got)
	}
	a.unhealthy.Store(true)
	if got := healthcheck(srv.URL+"/health", timeout, io.Discard); got != 1 {
		t.Errorf("healthcheck(unhealthy) = %d; want 1", got)
	}
	if got := healthcheck("http://127.0.0.1:1/health", timeout, io.Discard); got != 1 {
		t.Errorf("healthcheck(nothing listening) = %d; want 1", got)
	}
}
