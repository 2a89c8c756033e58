package scheduler

import (
	"slices"

	"github.com/wharf-ecs/wharf/internal/scheduler/cql"
)

// CompileMemberOf parses a memberOf expression in the cluster query language
// and returns the constraint the engine applies. Its error is cql's, which
// says where the expression goes wrong.
func CompileMemberOf(expression string) (MemberOf, error) {
	e, err := cql.Parse(expression)
	if err != nil {
		return MemberOf{}, err
	}
	return MemberOf{Expression: expression, Matcher: cqlMatcher{e, e.UsesTaskGroups()}}, nil
}

// cqlMatcher adapts a cql expression to Matcher. The expression sees the
// plan's working view, so task:group and runningTasksCount include the tasks
// placed earlier in the same plan.
type cqlMatcher struct {
	expr cql.Expr
	// groups says the expression tests task:group; only then does Match
	// build the list of the instance's groups, the one thing it allocates.
	groups bool
}

func (m cqlMatcher) Match(in *Instance) bool {
	view := cql.Instance{
		Attributes:        in.Attributes,
		AgentConnected:    in.AgentConnected,
		AgentVersion:      in.AgentVersion,
		EC2InstanceID:     in.EC2InstanceID,
		RegisteredAt:      in.RegisteredAt,
		RunningTasksCount: in.RunningTasks,
	}
	if m.groups {
		for g, n := range in.Groups {
			if n > 0 {
				view.TaskGroups = append(view.TaskGroups, g)
			}
		}
		// Map order is random; the answer does not depend on it, but a
		// sorted list keeps any =~ over it reproducible to read.
		slices.Sort(view.TaskGroups)
	}
	return m.expr.Eval(view)
}
