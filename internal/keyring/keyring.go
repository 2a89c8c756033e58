// Package keyring holds the server's master key: 32 random bytes kept in a
// file under the data directory (mode 0600). The key seals values at rest
// (SecureString parameters) with AES-256-GCM and derives per-purpose secrets
// with HMAC-SHA256, so that derived secrets (agent credentials) need not be
// stored at all.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key's length in bytes.
const KeySize = 32

// Keyring seals, opens and derives with one master key. It is safe for
// concurrent use.
type Keyring struct {
	aead cipher.AEAD
	key  []byte
}

// New returns a keyring for a 32-byte master key.
func New(key []byte) (*Keyring, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key is %d bytes; want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keyring{aead: aead, key: append([]byte(nil), key...)}, nil
}

// LoadOrCreate reads the hex master key at path, creating the file with a new
// random key when it does not exist. Replicated servers must share one key
// file: give each the same file.
func LoadOrCreate(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := create(path); err != nil {
			return nil, err
		}
		return LoadOrCreate(path) // ours, or the one another process linked first
	}
	if err != nil {
		return nil, fmt.Errorf("read master key %s: %w", path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("master key %s is not %d hex-encoded bytes", path, KeySize)
	}
	return New(key)
}

// Seal encrypts plaintext, binding it to aad (for example the parameter's
// name, so a sealed value cannot be moved to another). The nonce is prepended.
func (k *Keyring) Seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("keyring: no randomness: " + err.Error())
	}
	return k.aead.Seal(nonce, nonce, plaintext, aad)
}

// ErrOpen is returned when a sealed value fails authentication: it was sealed
// with another key or aad, or altered.
var ErrOpen = errors.New("keyring: sealed value cannot be opened with this key")

// Open decrypts what Seal returned for the same aad.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := k.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// Derive returns HMAC-SHA256(master, purpose + 0 + name): a secret that is
// the same on every server sharing the key and cannot be computed without it.
func (k *Keyring) Derive(purpose, name string) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(name))
	return m.Sum(nil)
}

// create writes a new random key to a temporary file and links it to path,
// which fails if path exists: a reader never sees a half-written key, and of
// servers starting together exactly one key wins.
func create(path string) error {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".master-key-*")
	if err != nil {
		return fmt.Errorf("create master key %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	if werr == nil {
		werr = f.Chmod(0o600)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write master key %s: %w", path, werr)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create master key %s: %w", path, err)
	}
	return nil
}
