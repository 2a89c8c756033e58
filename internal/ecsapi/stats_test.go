package ecsapi

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/store"
)

// An agent credential may send usage samples only for its own instance, in
// its own cluster; and a user's policy sees the cluster and instance named.
func TestSubmitTaskStatsIsTheAgentsOwn(t *testing.T) {
	a := authzAPI()
	p := &auth.Principal{Kind: auth.Agent, Cluster: "prod", InstanceID: instID,
		InstanceArn: azPrefix + "container-instance/prod/" + instID}
	for _, tc := range []struct {
		body, refusal string
	}{
		{`{"cluster":"prod","containerInstanceArn":"` + instID + `"}`, ""},
		{`{"cluster":"prod","containerInstanceArn":"` + p.InstanceArn + `"}`, ""},
		{`{"cluster":"prod","containerInstanceArn":"ffffffffffffffffffffffffffffffff"}`, "act for container instance"},
		{`{"cluster":"dev","containerInstanceArn":"` + instID + `"}`, "act in cluster dev"},
		{`{"cluster":"prod"}`, "call SubmitTaskStats without naming its instance"},
	} {
		err := a.AuthorizeAgent(context.Background(), p, agentproto.SubmitTaskStats, []byte(tc.body))
		switch {
		case tc.refusal == "" && err != nil:
			t.Errorf("AuthorizeAgent(SubmitTaskStats, %s) = %v; want allowed", tc.body, err)
		case tc.refusal != "" && (err == nil || !strings.Contains(err.Error(), tc.refusal)):
			t.Errorf("AuthorizeAgent(SubmitTaskStats, %s) = %v; want a refusal to %q", tc.body, err, tc.refusal)
		}
	}
	got, err := a.Resources(agentproto.SubmitTaskStats, []byte(`{"cluster":"prod","containerInstanceArn":"`+instID+`"}`))
	want := []string{azPrefix + "cluster/prod", azPrefix + "container-instance/prod/" + instID}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Resources(SubmitTaskStats) = %q, %v; want %q", got, err, want)
	}
}

func TestPlacementStatsCountPlansAndCommits(t *testing.T) {
	txn := func(keys ...string) store.Txn {
		var t store.Txn
		for _, k := range keys {
			t.Ops = append(t.Ops, store.Op{Key: k, Value: []byte("{}")})
		}
		return t
	}
	a := &API{}
	a.obs.committed(txn("tasks/c/1", "tasks/c/2", "instances/c/i"), nil)
	a.obs.committed(txn("tasks/c/3", "instances/c/i"), &store.ConflictError{Key: "instances/c/i"})
	if s := a.PlacementStats(); s.Batches != 2 || s.Placed != 2 || s.Conflicts != 1 || s.Queued != 0 {
		t.Errorf("PlacementStats = %+v; want 2 batches, 2 placed, 1 conflict", s)
	}
}
