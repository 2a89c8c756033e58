package auth

import (
	"context"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
)

// CodeAccessDenied is the error code of a request its caller may not make.
const CodeAccessDenied = "AccessDeniedException"

// AccessDenied returns an AccessDeniedException with message.
func AccessDenied(message string) *awsproto.Error {
	return &awsproto.Error{Code: CodeAccessDenied, Message: message, Status: http.StatusBadRequest}
}

// Rules say how the gate treats one AWS JSON service.
type Rules struct {
	// SigningName is the service name requests must be signed for
	// ("ecs", "ssm").
	SigningName string
	// ActionPrefix prefixes operation names in policies ("ecs" gives
	// "ecs:RunTask").
	ActionPrefix string
	// Public lists operations that need no signature because they carry
	// their own proof (an agent's join token).
	Public map[string]bool
	// Resources returns the ARNs a request names, for policies; nil means
	// every operation is evaluated against "*".
	Resources func(op string, body []byte) ([]string, error)
	// Agent decides what an agent credential may do with this service;
	// nil refuses agents every operation of it.
	Agent func(ctx context.Context, p *Principal, op string, body []byte) error
	// Unlimited lists operations no rate limit applies to (the agent's
	// long poll, which paces itself).
	Unlimited map[string]bool
}

// Gate authenticates, rate-limits and authorizes every API request. It is
// the awsproto.Mux's Before hook.
type Gate struct {
	creds     Credentials // nil: authentication off
	region    string
	now       func() time.Time
	limiter   *Limiter
	rules     map[string]Rules // by target prefix
	verifiers map[string]*Verifier
	anyName   *Verifier // for targets of no known service
}

// GateConfig configures a Gate.
type GateConfig struct {
	// Credentials verifies signatures; nil turns authentication off, and
	// every caller is Anonymous with every right.
	Credentials Credentials
	Region      string
	Now         func() time.Time // nil: time.Now
	Limiter     *Limiter         // nil: no rate limits
}

// NewGate returns a gate with no services; Register adds them.
func NewGate(cfg GateConfig) *Gate {
	return &Gate{creds: cfg.Credentials, region: cfg.Region, now: cfg.Now, limiter: cfg.Limiter,
		rules: map[string]Rules{}, verifiers: map[string]*Verifier{}}
}

// Enabled reports whether requests must be signed.
func (g *Gate) Enabled() bool { return g.creds != nil }

// Register sets the rules of the service with target prefix.
func (g *Gate) Register(prefix string, r Rules) {
	g.rules[prefix] = r
	if g.verifiers[r.SigningName] == nil {
		g.verifiers[r.SigningName] = g.verifier([]string{r.SigningName})
	}
	var names []string
	for _, rr := range g.rules {
		if !slices.Contains(names, rr.SigningName) {
			names = append(names, rr.SigningName)
		}
	}
	slices.Sort(names)
	g.anyName = g.verifier(names)
}

func (g *Gate) verifier(names []string) *Verifier {
	return &Verifier{Creds: g.creds, Region: g.region, Services: names, Now: g.now}
}

// Before is the Mux hook: it returns ctx carrying the caller's Principal, or
// the error to answer with.
func (g *Gate) Before(r *http.Request, op awsproto.Op, body []byte) (context.Context, error) {
	if op.Service == nil {
		return g.Check(r, "", op.Name, false, body)
	}
	return g.Check(r, op.Service.TargetPrefix, op.Name, op.Service.Implemented(op.Name), body)
}

// Check authenticates, rate-limits and authorizes a request for operation op
// of the service registered under prefix ("" when the request names no known
// service). It serves protocols other than AWS JSON too (the Query protocol),
// whose handlers call it with their own service prefix. implemented says
// whether the service has op; when it has not, only authentication runs and
// the caller answers that the operation is unknown. The returned ctx carries
// the Principal, also along with a refusal.
func (g *Gate) Check(r *http.Request, prefix, op string, implemented bool, body []byte) (context.Context, error) {
	ctx := r.Context()
	rules, known := g.rules[prefix]
	var p *Principal
	switch {
	case g.creds == nil:
		p = &Principal{Kind: Anonymous, Name: "anonymous"}
	case known && rules.Public[op]:
		p = &Principal{Kind: Anonymous, Name: "anonymous"}
	default:
		v := g.anyName
		if known {
			v = g.verifiers[rules.SigningName]
		}
		if v == nil {
			return nil, &awsproto.Error{Code: CodeMissingAuthenticationToken, Message: "Missing Authentication Token", Status: http.StatusForbidden}
		}
		id, err := v.Verify(r, body)
		if err != nil {
			return nil, err
		}
		p = id.Principal
	}
	ctx = WithPrincipal(ctx, p)
	if prefix != "" && !known {
		// A service served that the gate has no rules for: fail closed
		// rather than let every signed caller (agents too) use it.
		return ctx, &awsproto.Error{Code: CodeAccessDenied, Message: "No access rules are configured for " + prefix + "; the server refuses its operations.", Status: http.StatusBadRequest}
	}
	if !known || !implemented {
		return ctx, nil // the caller answers that the operation is unknown
	}
	// Refusals return ctx too, so the audit line names who was refused.
	if g.limiter != nil && !rules.Unlimited[op] {
		key := p.AccessKeyID
		if key == "" {
			key = "ip:" + clientIP(r)
		}
		if err := g.limiter.Allow(key, prefix, op); err != nil {
			return ctx, err
		}
	}
	return ctx, g.authorize(ctx, p, rules, op, body)
}

func (g *Gate) authorize(ctx context.Context, p *Principal, rules Rules, op string, body []byte) error {
	action := rules.ActionPrefix + ":" + op
	switch p.Kind {
	case Root, Anonymous:
		// Root may do anything; Anonymous is authentication off, or a
		// public operation that checks its own proof.
		return nil
	case Agent:
		if rules.Agent == nil {
			return agentDenied(p, action)
		}
		return rules.Agent(ctx, p, op, body)
	}
	if p.Policy == nil {
		return AccessDenied("User " + p.Name + " is not authorized to perform: " + action + " because no identity-based policy allows the " + action + " action")
	}
	resources := []string{"*"}
	if rules.Resources != nil {
		rs, err := rules.Resources(op, body)
		if err != nil {
			return err
		}
		if len(rs) > 0 {
			resources = rs
		}
	}
	return p.Policy.Authorize(p.Name, action, resources)
}

// agentDenied refuses an agent credential an operation agents never make.
func agentDenied(p *Principal, action string) *awsproto.Error {
	return AccessDenied("The agent credential of container instance " + p.InstanceArn + " is not authorized to perform: " + action +
		"; agent credentials may only register their own instance, poll for its tasks and report their state. Use a user's access key for anything else.")
}

// AgentDenied is the refusal of an agent acting beyond its own instance.
func AgentDenied(p *Principal, what string) *awsproto.Error {
	return AccessDenied("The agent credential of container instance " + p.InstanceArn + " may not " + what + "; an agent may only act for its own container instance.")
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return strings.TrimSpace(r.RemoteAddr)
	}
	return host
}
