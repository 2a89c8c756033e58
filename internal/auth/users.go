package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/wharf-ecs/wharf/internal/iam"
)

// The credentials file names users, their access keys and their policies:
//
//	{"users": [
//	  {"name": "alice",
//	   "accessKeys": [{"accessKeyId": "AKIAALICE0000001", "secretAccessKey": "..."}],
//	   "policies": [{"Version": "2012-10-17", "Statement": [
//	      {"Effect": "Allow", "Action": ["ecs:Describe*", "ecs:List*"], "Resource": "*"}]}]}]}
//
// A user without policies may do nothing; a user whose policies allow
// "Action": "*" on "Resource": "*" may do anything.
type usersFile struct {
	Users []userEntry `json:"users"`
}

type userEntry struct {
	Name       string            `json:"name"`
	AccessKeys []accessKeyEntry  `json:"accessKeys"`
	Policies   []json.RawMessage `json:"policies"`
}

type accessKeyEntry struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// policySet is a user's policies, evaluated as IAM does.
type policySet []*iam.Policy

func (ps policySet) Authorize(user, action string, resources []string) error {
	r := iam.Evaluate(ps, action, resources)
	if r.Allowed {
		return nil
	}
	return AccessDenied(r.Message(user))
}

// LoadUsersFile reads a credentials file.
func LoadUsersFile(path string) (StaticCredentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read credentials file: %w", err)
	}
	creds, err := ParseUsers(b)
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return creds, nil
}

// ParseUsers parses the contents of a credentials file.
func ParseUsers(b []byte) (StaticCredentials, error) {
	var f usersFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("not a credentials file ({\"users\": [{\"name\", \"accessKeys\", \"policies\"}]}): %w", err)
	}
	out := StaticCredentials{}
	names := map[string]bool{}
	for i, u := range f.Users {
		if u.Name == "" || len(u.Name) > 64 {
			return nil, fmt.Errorf("user %d: a name of 1 to 64 characters is required", i+1)
		}
		if u.Name == RootUser || names[u.Name] {
			return nil, fmt.Errorf("user %q: the name is taken (names are unique; %q is the environment's root key)", u.Name, RootUser)
		}
		names[u.Name] = true
		if len(u.AccessKeys) == 0 {
			return nil, fmt.Errorf("user %q has no accessKeys", u.Name)
		}
		var ps policySet
		for j, raw := range u.Policies {
			p, err := iam.Parse(raw)
			if err != nil {
				return nil, fmt.Errorf("user %q, policy %d: %w", u.Name, j+1, err)
			}
			ps = append(ps, p)
		}
		for _, k := range u.AccessKeys {
			if !validAccessKeyID(k.AccessKeyID) {
				return nil, fmt.Errorf("user %q: access key ID %q must be 16 to 128 letters and digits", u.Name, clip(k.AccessKeyID))
			}
			if len(k.SecretAccessKey) < 16 {
				return nil, fmt.Errorf("user %q, key %s: the secret access key must be at least 16 characters", u.Name, k.AccessKeyID)
			}
			if _, dup := out[k.AccessKeyID]; dup {
				return nil, fmt.Errorf("access key ID %s is given twice", k.AccessKeyID)
			}
			out[k.AccessKeyID] = StaticKey{Secret: k.SecretAccessKey,
				Principal: &Principal{Kind: User, Name: u.Name, AccessKeyID: k.AccessKeyID, Policy: ps}}
		}
	}
	return out, nil
}

func validAccessKeyID(id string) bool {
	if len(id) < 16 || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
