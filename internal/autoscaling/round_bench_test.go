package autoscaling

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

// steady is a metric source at the target: policies evaluate and hold.
type steady struct{}

func (steady) ServiceAverage(_, _, _ string, _ time.Duration) (float64, bool) { return 50, true }

// BenchmarkRound is one controller round over 1,000 services, each a
// scalable target with a target tracking policy and a scheduled action,
// none of which needs to act: the steady cost of Service Auto Scaling.
func BenchmarkRound(b *testing.B) {
	st, err := bolt.Open(filepath.Join(b.TempDir(), "wharf.db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var ops []store.Op
	for i := range 1000 {
		name := fmt.Sprintf("svc%04d", i)
		rid := "service/default/" + name
		ref := state.ScalableRef("ecs", "ecs:service:DesiredCount", rid)
		svc := &state.Service{Cluster: "default"}
		svc.ServiceName, svc.Status, svc.DesiredCount = name, state.ServiceActive, model.Ptr(int32(2))
		p := tracking("cpu", MetricCPU, 50, nil)
		p.ResourceId = rid
		ops = append(ops,
			state.Put(state.ServiceKey("default", name), svc),
			state.Put(state.ScalableTargetKey(ref), &state.ScalableTarget{ServiceNamespace: "ecs", ResourceId: rid,
				ScalableDimension: "ecs:service:DesiredCount", MinCapacity: 1, MaxCapacity: 10}),
			state.Put(state.ScalingPolicyKey(ref, "cpu"), p),
			state.Put(state.ScheduledActionKey(ref, "night"), &state.ScheduledAction{ScheduledActionName: "night", ResourceId: rid,
				Schedule: "cron(0 22 ? * MON-FRI *)", Timezone: "Europe/Paris", CreationTime: model.NewTime(t0), Since: model.NewTime(t0),
				ScalableTargetAction: &state.ScalableTargetAction{MinCapacity: model.Ptr(int32(1))}}))
	}
	if _, err := st.Commit(context.Background(), store.Txn{Ops: ops}); err != nil {
		b.Fatal(err)
	}
	c := New(Config{Store: st, Metrics: steady{}, Now: func() time.Time { return t0 }})
	b.ResetTimer()
	for range b.N {
		c.Round(context.Background())
	}
}
