package auth

import "context"

// Kind is what sort of caller a principal is.
type Kind uint8

const (
	// Anonymous callers reach a server that runs without credentials
	// (authentication off); they may do anything.
	Anonymous Kind = iota
	// Root is the server's root key: it may do anything.
	Root
	// User is a named user of the credentials file, held to its policies.
	User
	// Agent is the credential of one container instance, which may only
	// report for that instance and read its own tasks.
	Agent
)

func (k Kind) String() string {
	switch k {
	case Root:
		return "root"
	case User:
		return "user"
	case Agent:
		return "agent"
	}
	return "anonymous"
}

// Policy decides whether a user may perform an action on resources;
// internal/iam implements it from IAM-style policy documents.
type Policy interface {
	// Authorize returns nil when every resource is allowed, else an error
	// (an AccessDeniedException) naming what was denied and why.
	Authorize(user, action string, resources []string) error
}

// Principal is who a verified request comes from.
type Principal struct {
	Kind        Kind
	Name        string // user name; "root"; for agents, the instance ARN
	AccessKeyID string
	Policy      Policy // users only
	// Cluster, InstanceID and InstanceArn bind an agent credential to its
	// container instance.
	Cluster     string
	InstanceID  string
	InstanceArn string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller of the request being served, or nil when
// the request went through no gate (in-process callers).
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// AgentFrom returns the agent principal of ctx, or nil when the caller is not
// an agent credential.
func AgentFrom(ctx context.Context) *Principal {
	if p := PrincipalFrom(ctx); p != nil && p.Kind == Agent {
		return p
	}
	return nil
}
