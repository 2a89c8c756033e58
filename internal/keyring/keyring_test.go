package keyring

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateKeepsTheKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	k1, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v; want 0600", fi.Mode().Perm())
	}
	sealed := k1.Seal([]byte("s3cret"), []byte("/app/db"))
	if bytes.Contains(sealed, []byte("s3cret")) {
		t.Fatal("sealed value contains the plaintext")
	}
	k2, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k2.Open(sealed, []byte("/app/db"))
	if err != nil || string(got) != "s3cret" {
		t.Fatalf("Open after reload = %q, %v", got, err)
	}
	if !bytes.Equal(k1.Derive("agent", "x"), k2.Derive("agent", "x")) {
		t.Fatal("Derive differs across loads of one key")
	}
	if bytes.Equal(k1.Derive("agent", "x"), k1.Derive("agent", "y")) || bytes.Equal(k1.Derive("a", "bx"), k1.Derive("ab", "x")) {
		t.Fatal("Derive collides across names or purposes")
	}
}

func TestOpenRefusesTamperedWrongAADAndWrongKey(t *testing.T) {
	dir := t.TempDir()
	k1, _ := LoadOrCreate(filepath.Join(dir, "a"))
	k2, _ := LoadOrCreate(filepath.Join(dir, "b"))
	sealed := k1.Seal([]byte("value"), []byte("name"))
	if _, err := k1.Open(sealed, []byte("other")); err != ErrOpen {
		t.Fatalf("wrong aad: %v", err)
	}
	if _, err := k2.Open(sealed, []byte("name")); err != ErrOpen {
		t.Fatalf("wrong key: %v", err)
	}
	bad := append([]byte(nil), sealed...)
	bad[len(bad)-1] ^= 1
	if _, err := k1.Open(bad, []byte("name")); err != ErrOpen {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := k1.Open([]byte{1, 2}, nil); err != ErrOpen {
		t.Fatalf("short: %v", err)
	}
}

func TestLoadRefusesACorruptKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); err == nil {
		t.Fatal("corrupt key file accepted")
	}
}

// Servers starting together on one key file all end up with the same key,
// and none reads a half-written file.
func TestConcurrentCreatorsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 16
	rings := make([]*Keyring, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			k, err := LoadOrCreate(path)
			rings[i] = k
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < n; i++ {
		if !bytes.Equal(rings[0].Derive("x", "y"), rings[i].Derive("x", "y")) {
			t.Fatal("concurrent creators ended up with different keys")
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("key directory holds %d files; want only the key", len(entries))
	}
}
