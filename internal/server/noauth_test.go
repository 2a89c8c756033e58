package server_test

import (
	"strings"
	"testing"

	"github.com/wharf-ecs/wharf/internal/server"
)

// Without credentials a server runs only on loopback, unless told to
// expose itself unauthenticated.
func TestNoCredentialsOnlyOnLoopback(t *testing.T) {
	_, err := server.New(server.Config{Listen: "0.0.0.0:0", DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "WHARF_ACCESS_KEY_ID") {
		t.Fatalf("non-loopback without credentials: err = %v; want a refusal naming the credentials to set", err)
	}
	s, err := server.New(server.Config{Listen: "0.0.0.0:0", DataDir: t.TempDir(), InsecureNoAuth: true})
	if err != nil {
		t.Fatalf("with InsecureNoAuth: %v", err)
	}
	if s.AuthEnabled() {
		t.Fatal("AuthEnabled with no credentials")
	}
	s.Close()
	s, err = server.New(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("loopback without credentials: %v", err)
	}
	s.Close()
}
