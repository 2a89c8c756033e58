package auth

import (
	"strings"
	"testing"
)

func TestParseUsers(t *testing.T) {
	creds, err := ParseUsers([]byte(`{"users": [
	  {"name": "alice", "accessKeys": [{"accessKeyId": "AKIAALICE0000001", "secretAccessKey": "alice-secret-0001"}],
	   "policies": [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:Describe*", "Resource": "*"}]}]},
	  {"name": "bob", "accessKeys": [{"accessKeyId": "AKIABOB000000001", "secretAccessKey": "bob-secret-000001"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	secret, p, ok := creds.Lookup("AKIAALICE0000001")
	if !ok || secret != "alice-secret-0001" || p.Name != "alice" || p.Kind != User {
		t.Fatalf("alice = %q %+v %v", secret, p, ok)
	}
	if err := p.Policy.Authorize("alice", "ecs:DescribeClusters", []string{"*"}); err != nil {
		t.Errorf("alice DescribeClusters: %v", err)
	}
	err = p.Policy.Authorize("alice", "ecs:RunTask", []string{"arn:aws:ecs:us-east-1:123456789012:cluster/default"})
	if err == nil || !strings.Contains(err.Error(), "not authorized to perform: ecs:RunTask") {
		t.Errorf("alice RunTask: %v; want AccessDenied naming the action", err)
	}
	_, bob, _ := creds.Lookup("AKIABOB000000001")
	if err := bob.Policy.Authorize("bob", "ecs:ListClusters", []string{"*"}); err == nil {
		t.Error("bob, with no policies, was allowed ListClusters")
	}
}

func TestParseUsersRefusesBadFiles(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":       `{"users": [`,
		"unknown member": `{"users": [], "admins": []}`,
		"no name":        `{"users": [{"accessKeys": [{"accessKeyId": "AKIAALICE0000001", "secretAccessKey": "alice-secret-0001"}]}]}`,
		"root name":      `{"users": [{"name": "root", "accessKeys": [{"accessKeyId": "AKIAALICE0000001", "secretAccessKey": "alice-secret-0001"}]}]}`,
		"no keys":        `{"users": [{"name": "a"}]}`,
		"short secret":   `{"users": [{"name": "a", "accessKeys": [{"accessKeyId": "AKIAALICE0000001", "secretAccessKey": "x"}]}]}`,
		"bad key id":     `{"users": [{"name": "a", "accessKeys": [{"accessKeyId": "AK/IA", "secretAccessKey": "alice-secret-0001"}]}]}`,
		"duplicate key":  `{"users": [{"name": "a", "accessKeys": [{"accessKeyId": "AKIAALICE0000001", "secretAccessKey": "alice-secret-0001"}]}, {"name": "b", "accessKeys": [{"accessKeyId": "AKIAALICE0000001", "secretAccessKey": "alice-secret-0001"}]}]}`,
		"duplicate user": `{"users": [{"name": "a", "accessKeys": [{"accessKeyId": "AKIAALICE0000001", "secretAccessKey": "alice-secret-0001"}]}, {"name": "a", "accessKeys": [{"accessKeyId": "AKIAALICE0000002", "secretAccessKey": "alice-secret-0001"}]}]}`,
		"bad policy":     `{"users": [{"name": "a", "accessKeys": [{"accessKeyId": "AKIAALICE0000001", "secretAccessKey": "alice-secret-0001"}], "policies": [{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {}}]}]}]}`,
	} {
		if _, err := ParseUsers([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseUsers: the credentials file parser never panics, and what it
// accepts has a secret and a policy set for every key.
func FuzzParseUsers(f *testing.F) {
	f.Add([]byte(`{"users": [{"name": "a", "accessKeys": [{"accessKeyId": "AKIAALICE0000001", "secretAccessKey": "alice-secret-0001"}], "policies": [{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}]}]}`))
	f.Add([]byte(`{"users": []}`))
	f.Add([]byte(`{"users": [{"name": "a", "accessKeys": [], "policies": [null]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		creds, err := ParseUsers(b)
		if err != nil {
			return
		}
		for id, k := range creds {
			if k.Secret == "" || k.Principal == nil || k.Principal.Kind != User || k.Principal.AccessKeyID != id {
				t.Fatalf("accepted key %q with %+v", id, k)
			}
			_ = k.Principal.Policy.Authorize(k.Principal.Name, "ecs:ListClusters", []string{"*"})
		}
	})
}
