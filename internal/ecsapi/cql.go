package ecsapi

import (
	"errors"
	"unicode/utf8"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/scheduler/cql"
	"github.com/wharf-ecs/wharf/internal/state"
)

// parseQuery parses a cluster query language expression (ListContainerInstances
// --filter, memberOf constraints), answering a bad one with
// InvalidParameterException that says where and what was wrong.
func parseQuery(what, expr string) (cql.Expr, error) {
	if n := utf8.RuneCountInString(expr); n > cql.MaxLength {
		return cql.Expr{}, invalidParam("The %s expression may be at most %d characters; got %d.", what, cql.MaxLength, n)
	}
	e, err := cql.Parse(expr)
	if err != nil {
		var pe *cql.ParseError
		if errors.As(err, &pe) {
			return cql.Expr{}, invalidParam("Invalid %s expression %q: %s.", what, expr, pe.Error())
		}
		return cql.Expr{}, invalidParam("Invalid %s expression %q: %v.", what, expr, err)
	}
	return e, nil
}

// queryInstance is what the query language sees of a container instance.
// Task groups and counts come from the task index; the groups are collected
// only when the expression asks about them.
func (a *API) queryInstance(inst *state.ContainerInstance, withGroups bool) cql.Instance {
	q := cql.Instance{
		Attributes:     make(map[string]string, len(inst.Attributes)),
		AgentConnected: model.Val(inst.AgentConnected),
		EC2InstanceID:  inst.Ec2InstanceId,
	}
	for _, at := range inst.Attributes {
		q.Attributes[at.Name] = at.Value
	}
	if inst.VersionInfo != nil {
		q.AgentVersion = inst.VersionInfo.AgentVersion
	}
	if inst.RegisteredAt != nil {
		q.RegisteredAt = inst.RegisteredAt.Time
	}
	_, all := a.index.groupCounts("", []string{inst.ID})
	q.RunningTasksCount = all[0]
	if withGroups {
		q.TaskGroups = a.index.groupsOn(inst.ID)
	}
	return q
}
