package ecsapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/ecsapi"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/store"
)

// TestServiceLaunchCarriesTheLeadersFence: a service's launch made by a
// leader writes only while the leader's fence holds. A fence that is down
// (between terms) or has moved (another leader's term) launches nothing,
// through the placement worker (REPLICA) and the direct path (DAEMON) alike.
func TestServiceLaunchCarriesTheLeadersFence(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tkCluster(t, s, "c")
	td := tkTD(t, s, "web", 64, 64)
	inst := tkInstance(t, s, "c", 2048, 2048)
	instID := inst[strings.LastIndexByte(inst, '/')+1:]
	fenceRev, err := s.Store().Commit(ctx, store.Txn{Ops: []store.Op{{Key: "test/leader", Value: []byte("me")}}})
	if err != nil {
		t.Fatal(err)
	}
	holds := func() (store.Cond, error) { return store.Cond{Key: "test/leader", Revision: fenceRev}, nil }
	moved := func() (store.Cond, error) { return store.Cond{Key: "test/leader", Revision: fenceRev + 1000}, nil }
	errDown := errors.New("between terms")
	down := func() (store.Cond, error) { return store.Cond{}, errDown }
	launch := func(fence func() (store.Cond, error), daemon bool) ([]string, error) {
		in := ecsapi.ServiceLaunch{Cluster: "c", Service: "web", DeploymentID: "ecs-svc/1", TaskDefinition: td, Count: 2, Fence: fence}
		if daemon {
			in.Instances = []string{instID}
		}
		launched, _, err := s.API().LaunchServiceTasks(ctx, in)
		return launched, err
	}
	stored := func() int {
		return len(tkListAll(t, s, ecs.ListTasksInput{Cluster: aws.String("c")}))
	}
	for _, daemon := range []bool{false, true} {
		if got, err := launch(down, daemon); !errors.Is(err, errDown) || len(got) != 0 {
			t.Errorf("daemon %v, fence down: launched %v, error %v; want nothing and the fence's error", daemon, got, err)
		}
		if got, err := launch(moved, daemon); err == nil || len(got) != 0 {
			t.Errorf("daemon %v, fence moved: launched %v, error %v; want nothing and an error", daemon, got, err)
		}
		if n := stored(); n != 0 {
			t.Fatalf("daemon %v: %d tasks stored by launches without the fence", daemon, n)
		}
	}
	if got, err := launch(holds, false); err != nil || len(got) != 2 {
		t.Errorf("fence holds: launched %v, error %v; want 2 tasks", got, err)
	}
	if got, err := launch(holds, true); err != nil || len(got) != 1 {
		t.Errorf("fence holds, daemon: launched %v, error %v; want 1 task", got, err)
	}
	if n := stored(); n != 3 {
		t.Errorf("%d tasks stored; want the 3 launched while the fence held", n)
	}
}
