package ecsapi

import (
	"context"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Lookups shared by several resource groups.

// parseTaskDefRef splits "family", "family:revision" or a task definition ARN.
// rev is 0 when only the family is given.
func parseTaskDefRef(ref string) (family string, rev int32, err error) {
	s := ref
	if strings.HasPrefix(s, "arn:") {
		p, perr := ParseARN(s)
		if perr != nil || p.Type != "task-definition" || len(p.Parts) != 1 {
			return "", 0, clientErr("Invalid task definition %q: use family, family:revision or a task-definition ARN.", ref)
		}
		s = p.Parts[0]
		if !strings.Contains(s, ":") {
			return "", 0, clientErr("Invalid task definition ARN %q: it must end in family:revision.", ref)
		}
	}
	family, revStr, hasRev := strings.Cut(s, ":")
	if !validName(family) {
		return "", 0, clientErr("Invalid task definition %q: the family must be up to 255 letters, numbers, underscores and hyphens.", ref)
	}
	if hasRev {
		n, perr := strconv.ParseInt(revStr, 10, 32)
		if perr != nil || n < 1 {
			return "", 0, clientErr("Invalid revision in task definition %q: a revision is a positive whole number.", ref)
		}
		rev = int32(n)
	}
	return family, rev, nil
}

// taskDefinition resolves a task definition reference. A bare family means its
// latest ACTIVE revision. INACTIVE revisions are returned only when
// allowInactive is set (tasks already running from one keep working).
func (a *API) taskDefinition(ctx context.Context, ref string, allowInactive bool) (*state.TaskDefinition, error) {
	family, rev, err := parseTaskDefRef(ref)
	if err != nil {
		return nil, err
	}
	if rev > 0 {
		td, _, err := state.Get[state.TaskDefinition](ctx, a.st, state.TaskDefKey(family, rev))
		if isNotFound(err) {
			return nil, clientErr("Unable to describe task definition %s:%d: it does not exist. List revisions with ListTaskDefinitions --family-prefix %s.", family, rev, family)
		}
		if err != nil {
			return nil, err
		}
		switch td.TaskDefinition.Status {
		case model.TaskDefinitionStatusActive:
		case model.TaskDefinitionStatusInactive:
			if !allowInactive {
				return nil, clientErr("Task definition %s:%d is INACTIVE (deregistered); register a new revision or use an ACTIVE one.", family, rev)
			}
		default:
			return nil, clientErr("Task definition %s:%d is being deleted.", family, rev)
		}
		return td, nil
	}
	// The latest ACTIVE revision: walk back from the family's last revision,
	// which is nearly always the answer, instead of decoding every revision.
	noActive := clientErr("Unable to describe task definition %s: the family has no ACTIVE revision. Register one with RegisterTaskDefinition.", family)
	fam, _, err := state.Get[state.Family](ctx, a.st, state.FamilyKey(family))
	if isNotFound(err) {
		return nil, noActive
	}
	if err != nil {
		return nil, err
	}
	if fam.ActiveRevision <= 0 {
		return nil, noActive
	}
	for r := fam.LastRevision; r >= 1; r-- {
		td, _, err := state.Get[state.TaskDefinition](ctx, a.st, state.TaskDefKey(family, r))
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if td.TaskDefinition.Status == model.TaskDefinitionStatusActive {
			return td, nil
		}
	}
	return nil, noActive
}

// parseInstanceRef accepts a container instance ID or ARN and returns the
// cluster named in the ARN ("" for a bare ID) and the ID.
func parseInstanceRef(ref string) (cluster, id string, err error) {
	if strings.HasPrefix(ref, "arn:") {
		p, perr := ParseARN(ref)
		if perr != nil || p.Type != "container-instance" || len(p.Parts) != 2 {
			return "", "", invalidParam("Invalid container instance %q: use an ID or an ARN of the form arn:aws:ecs:REGION:ACCOUNT:container-instance/CLUSTER/ID.", ref)
		}
		return p.Parts[0], p.Parts[1], nil
	}
	if ref == "" || strings.ContainsAny(ref, "/:") || len(ref) > 64 {
		return "", "", invalidParam("Invalid container instance %q: use an ID or an ARN.", ref)
	}
	return "", ref, nil
}

// instanceByRef reads a container instance of a cluster by ID or ARN.
func (a *API) instanceByRef(ctx context.Context, clusterRef, ref string) (*state.ContainerInstance, int64, error) {
	return a.lookupInstance(ctx, clusterRef, ref, state.Get[state.ContainerInstance])
}

// sharedInstanceByRef is instanceByRef for a reader that changes nothing and
// may see the instance as it was a moment ago (an agent's poll or report):
// the instance comes from the instance cache, which follows the store, or is
// decoded once for all its readers (state.Instances); either way it is
// shared. With ten thousand agents, decoding a 4 KB document for each of
// their requests was a sixth of the server's CPU.
func (a *API) sharedInstanceByRef(ctx context.Context, clusterRef, ref string) (*state.ContainerInstance, int64, error) {
	return a.lookupInstance(ctx, clusterRef, ref, func(ctx context.Context, st store.Store, key string) (*state.ContainerInstance, int64, error) {
		if cluster, id, ok := splitInstanceKey(key); ok {
			if e, ok := a.instances.lookup(cluster, id); ok {
				return e.inst, e.rev, nil
			}
		}
		return state.Instances.Get(ctx, st, key)
	})
}

func (a *API) lookupInstance(ctx context.Context, clusterRef, ref string,
	get func(context.Context, store.Store, string) (*state.ContainerInstance, int64, error)) (*state.ContainerInstance, int64, error) {
	c, _, err := a.activeCluster(ctx, clusterRef)
	if err != nil {
		return nil, 0, err
	}
	arnCluster, id, err := parseInstanceRef(ref)
	if err != nil {
		return nil, 0, err
	}
	if arnCluster != "" && arnCluster != c.ClusterName {
		return nil, 0, invalidParam("Container instance %s belongs to cluster %s, not %s.", ref, arnCluster, c.ClusterName)
	}
	inst, rev, err := get(ctx, a.st, state.InstanceKey(c.ClusterName, id))
	if isNotFound(err) {
		return nil, 0, invalidParam("Container instance %s not found in cluster %s.", ref, c.ClusterName)
	}
	return inst, rev, err
}

// setAgentConnected records whether an instance's agent is connected.
func (a *API) setAgentConnected(ctx context.Context, cluster, id string, connected bool) error {
	return retry(ctx, func() error {
		key := state.InstanceKey(cluster, id)
		inst, rev, err := state.Get[state.ContainerInstance](ctx, a.st, key)
		if err != nil {
			return err
		}
		if model.Val(inst.AgentConnected) == connected {
			return nil
		}
		inst.AgentConnected = model.Ptr(connected)
		inst.Version = model.Ptr(model.Val(inst.Version) + 1)
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: key, Revision: rev}},
			Ops:   []store.Op{state.Put(key, inst)},
		})
		return err
	})
}
