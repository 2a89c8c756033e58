package iam

// NoResource is the resource of an operation that acts on no particular
// resource (ListClusters, account settings): as in IAM, only a statement
// whose Resource is "*" (or whose NotResource does not match "*") covers it.
const NoResource = "*"

// Result is the outcome of an authorization.
type Result struct {
	Allowed bool
	// When denied: the action asked for, the first resource it was denied
	// on, and whether a Deny statement matched (rather than no Allow).
	Action       string
	Resource     string
	ExplicitDeny bool
}

// Evaluate decides whether the policies together allow action on every one
// of resources, as IAM evaluates identity-based policies: for each resource,
// a matching Deny statement in any policy wins; otherwise a matching Allow
// statement allows; otherwise it is denied implicitly. An empty resources
// list stands for NoResource, never for "nothing to check". nil policies
// are skipped.
func Evaluate(policies []*Policy, action string, resources []string) Result {
	if len(resources) == 0 {
		return evaluateOne(policies, action, NoResource)
	}
	for _, r := range resources {
		if res := evaluateOne(policies, action, r); !res.Allowed {
			return res
		}
	}
	return Result{Allowed: true}
}

func evaluateOne(policies []*Policy, action, resource string) Result {
	allowed := false
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.Statements {
			st := &p.Statements[i]
			if !st.matches(action, resource) {
				continue
			}
			if st.Effect == Deny {
				return Result{Action: action, Resource: resource, ExplicitDeny: true}
			}
			allowed = true
		}
	}
	if !allowed {
		return Result{Action: action, Resource: resource}
	}
	return Result{Allowed: true}
}

func (st *Statement) matches(action, resource string) bool {
	return st.matchesAction(action) && st.matchesResource(resource)
}

func (st *Statement) matchesAction(action string) bool {
	for _, p := range st.Actions {
		if glob(p, action, true) {
			return !st.NotAction
		}
	}
	return st.NotAction
}

func (st *Statement) matchesResource(resource string) bool {
	for _, p := range st.Resources {
		if matchResource(p, resource) {
			return !st.NotResource
		}
	}
	return st.NotResource
}

// Message is the AccessDeniedException message AWS writes for a denial, for
// the user named, e.g. "User alice is not authorized to perform:
// ecs:RunTask on resource: arn:aws:ecs:us-east-1:123456789012:cluster/prod
// because no identity-based policy allows the ecs:RunTask action". It is ""
// when the request was allowed.
func (r Result) Message(user string) string {
	if r.Allowed {
		return ""
	}
	head := "User " + user + " is not authorized to perform: " + r.Action + " on resource: " + r.Resource
	if r.ExplicitDeny {
		return head + " with an explicit deny in an identity-based policy"
	}
	return head + " because no identity-based policy allows the " + r.Action + " action"
}
