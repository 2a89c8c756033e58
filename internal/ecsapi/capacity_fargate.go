package ecsapi

import (
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/scheduler"
	"github.com/wharf-ecs/wharf/internal/state"
)

// The Fargate pool: FARGATE and FARGATE_SPOT tasks run on instances that
// carry the wharf.fargate-pool attribute, started by managed scaling (or by
// hand). ECS shows no container instance for a Fargate task, so the pool's
// instances are left out of ListContainerInstances, DescribeContainerInstances,
// the cluster's registeredContainerInstancesCount and RunTask's failures,
// and a Fargate task shows no containerInstanceArn (Wharf keeps the instance
// ID beside the task for its agent).

// inFargatePool reports whether an instance belongs to the Fargate pool.
func inFargatePool(inst *state.ContainerInstance) bool {
	for _, at := range inst.Attributes {
		if at.Name == state.AttrFargate {
			return true
		}
	}
	return false
}

// hideFargateInstance leaves a Fargate task's instance out of its ECS shape.
func hideFargateInstance(t *state.Task) {
	if t.LaunchType == model.LaunchTypeFargate {
		t.ContainerInstanceArn = ""
	}
}

// visible drops the rejections of Fargate pool instances, so RunTask's
// failures never name an instance ECS would not show.
func (p *placer) visible(rs []scheduler.Rejection) []scheduler.Rejection {
	out := rs[:0:0]
	for _, r := range rs {
		id := r.ARN[strings.LastIndexByte(r.ARN, '/')+1:]
		if pi, ok := p.seen[id]; ok && pi.entry.inst != nil && inFargatePool(pi.entry.inst) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// WaitingClusters names the clusters with tasks waiting for capacity (the
// task index's unplaced tasks), for managed scaling.
func (a *API) WaitingClusters() map[string]bool {
	out := map[string]bool{}
	for cluster := range a.index.unplacedTasks() {
		out[cluster] = true
	}
	return out
}
