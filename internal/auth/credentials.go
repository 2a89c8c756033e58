package auth

import (
	"crypto/rand"
	"fmt"
	"os"
)

// Credentials looks up the secret of an access key and who it belongs to.
type Credentials interface {
	Lookup(accessKeyID string) (secret string, p *Principal, ok bool)
}

// StaticKey is one access key's secret and owner.
type StaticKey struct {
	Secret    string
	Principal *Principal
}

// StaticCredentials is an in-memory Credentials keyed by access key id.
type StaticCredentials map[string]StaticKey

// Lookup implements Credentials.
func (s StaticCredentials) Lookup(accessKeyID string) (string, *Principal, bool) {
	k, ok := s[accessKeyID]
	if !ok || k.Secret == "" || k.Principal == nil {
		return "", nil, false
	}
	return k.Secret, k.Principal, true
}

// Chain looks a key up in each Credentials in turn.
type Chain []Credentials

// Lookup implements Credentials.
func (c Chain) Lookup(accessKeyID string) (string, *Principal, bool) {
	for _, creds := range c {
		if creds == nil {
			continue
		}
		if s, p, ok := creds.Lookup(accessKeyID); ok {
			return s, p, true
		}
	}
	return "", nil, false
}

// Environment variables holding the server's root access key.
const (
	EnvAccessKeyID     = "WHARF_ACCESS_KEY_ID"
	EnvSecretAccessKey = "WHARF_SECRET_ACCESS_KEY"
)

// RootUser is the user name of the key read from the environment.
const RootUser = "root"

// FromEnv reads the root access key from WHARF_ACCESS_KEY_ID and
// WHARF_SECRET_ACCESS_KEY. It returns nil and no error when neither is set, and
// an error when only one of them is.
func FromEnv() (StaticCredentials, error) { return fromEnv(os.LookupEnv) }

func fromEnv(lookup func(string) (string, bool)) (StaticCredentials, error) {
	id, _ := lookup(EnvAccessKeyID)
	secret, _ := lookup(EnvSecretAccessKey)
	switch {
	case id == "" && secret == "":
		return nil, nil
	case id == "":
		return nil, fmt.Errorf("%s is set but %s is not", EnvSecretAccessKey, EnvAccessKeyID)
	case secret == "":
		return nil, fmt.Errorf("%s is set but %s is not", EnvAccessKeyID, EnvSecretAccessKey)
	}
	return StaticCredentials{id: {Secret: secret, Principal: &Principal{Kind: Root, Name: RootUser, AccessKeyID: id}}}, nil
}

// NewAccessKey returns a random access key ID and secret in AWS's shapes: a
// 20-character upper-case ID starting "AKIA" and a 40-character secret.
func NewAccessKey() (id, secret string) {
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	const any = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	pick := func(alphabet string, n int) string {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			panic("auth: no randomness: " + err.Error())
		}
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		return string(b)
	}
	return "AKIA" + pick(upper, 16), pick(any, 40)
}
