package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
)

// A service served on the Mux that the gate has no rules for is refused to
// every caller, root included: a forgotten registration must fail closed.
func TestGateFailsClosedForServicesWithoutRules(t *testing.T) {
	g := NewGate(GateConfig{Credentials: StaticCredentials{testKey: {Secret: testSecret,
		Principal: &Principal{Kind: Root, Name: RootUser, AccessKeyID: testKey}}}, Region: testRegion})
	known := awsproto.NewService("Known", nil)
	ran := 0
	awsproto.Handle(known, "Op", func(context.Context, *struct{}) (*struct{}, error) { ran++; return &struct{}{}, nil })
	forgotten := awsproto.NewService("Forgotten", nil)
	awsproto.Handle(forgotten, "Op", func(context.Context, *struct{}) (*struct{}, error) { ran++; return &struct{}{}, nil })
	g.Register("Known", Rules{SigningName: "ecs", ActionPrefix: "known"})
	m := awsproto.NewMux(nil)
	m.Add(known)
	m.Add(forgotten)
	m.Before = g.Before
	var seen *Principal
	m.After = func(ctx context.Context, _ awsproto.Op, _ error, _ time.Duration) { seen = PrincipalFrom(ctx) }
	call := func(target string) *httptest.ResponseRecorder {
		r := signedRequest(t, time.Now(), []byte(`{}`), func(r *http.Request) { r.Header.Set("X-Amz-Target", target) })
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		return w
	}
	if w := call("Known.Op"); w.Code != 200 || ran != 1 {
		t.Fatalf("Known.Op = %d %s; want 200", w.Code, w.Body)
	}
	if w := call("Forgotten.Op"); w.Code != 400 || w.Header().Get("X-Amzn-ErrorType") != CodeAccessDenied || ran != 1 {
		t.Fatalf("Forgotten.Op = %d %s, ran %d; want AccessDeniedException and no call", w.Code, w.Body, ran)
	}
	if seen == nil || seen.Name != RootUser {
		t.Fatalf("the refused call's principal = %+v; want root, for the audit line", seen)
	}
}
