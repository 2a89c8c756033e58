package auth

import (
	"fmt"
	"os"
)

// Credentials looks up the secret of an access key and the user it belongs to.
type Credentials interface {
	Secret(accessKeyID string) (secret string, user string, ok bool)
}

// StaticKey is one access key's secret and owner.
type StaticKey struct {
	Secret string
	User   string
}

// StaticCredentials is an in-memory Credentials keyed by access key id.
type StaticCredentials map[string]StaticKey

// Secret implements Credentials.
func (s StaticCredentials) Secret(accessKeyID string) (string, string, bool) {
	k, ok := s[accessKeyID]
	if !ok || k.Secret == "" {
		return "", "", false
	}
	return k.Secret, k.User, true
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
	return StaticCredentials{id: {Secret: secret, User: RootUser}}, nil
}
