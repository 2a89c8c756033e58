package console

import (
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

// The placement page explains where a task would be placed today and why
// each instance would take or refuse it (WharfAdmin_v1.ExplainPlacement, the
// same answer as `wharf explain TASK`), under the user's policies like any
// other call.

type placementView struct {
	Cluster, ID string
	Explained   agentproto.ExplainPlacementResponse
	Problem     *awsproto.Error
}

func loadPlacement(q *rq) (string, any, error) {
	cluster, id := q.r.PathValue("cluster"), q.r.PathValue("task")
	v := placementView{Cluster: cluster, ID: id}
	err := q.api.call(agentproto.AdminTargetPrefix, agentproto.ExplainPlacement,
		agentproto.ExplainPlacementRequest{RunTaskRequest: model.RunTaskRequest{Cluster: cluster}, Task: id}, &v.Explained)
	if err != nil {
		e := asError(err)
		if e.Code == codeInternal {
			return "", nil, err
		}
		v.Problem = e
	}
	return "Placement of task " + id, v, nil
}
