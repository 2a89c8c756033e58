package ecsapi

import (
	"context"
	"math"
	"strings"
	"sync/atomic"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/scheduler"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// What the API tells the metrics subsystem: the usage samples agents report
// (SubmitTaskStats) and counts of the placement workers' work.

// StatsSink keeps the usage samples agents report. It gets the cluster and
// ID of the reporting instance, already checked to exist and be ACTIVE; it
// must keep only samples of tasks placed on that instance, and answers how
// many it kept. It must not block.
type StatsSink interface {
	RecordTaskStats(cluster, instanceID string, in *agentproto.SubmitTaskStatsRequest) int
}

// observers is what the API reports to. The zero value reports nowhere.
type observers struct {
	sink atomic.Pointer[StatsSink]

	batches, placed, unplaced, conflicts atomic.Uint64
}

// SetStatsSink routes SubmitTaskStats samples to s. Without a sink they are
// acknowledged and dropped.
func (a *API) SetStatsSink(s StatsSink) { a.obs.sink.Store(&s) }

// SubmitTaskStats takes an agent's usage samples for the metrics subsystem.
func (a *API) SubmitTaskStats(ctx context.Context, in *agentproto.SubmitTaskStatsRequest) (*agentproto.SubmitTaskStatsResponse, error) {
	inst, _, err := a.sharedInstanceByRef(ctx, in.Cluster, in.ContainerInstanceArn)
	if err != nil {
		return nil, err
	}
	if inst.Status == instanceInactive {
		return nil, clientErr("Container instance %s is deregistered; register the agent again.", inst.ContainerInstanceArn)
	}
	if len(in.Samples) > agentproto.MaxStatsSamples {
		return nil, invalidParam("samples holds %d samples; send at most %d per request.", len(in.Samples), agentproto.MaxStatsSamples)
	}
	for i, s := range in.Samples {
		if s.CPUUnits < 0 || s.MemoryMiB < 0 || math.IsInf(s.CPUUnits, 0) || math.IsInf(s.MemoryMiB, 0) {
			return nil, invalidParam("samples[%d] has a negative or infinite cpuUnits or memoryMiB; usage is never negative.", i)
		}
	}
	out := &agentproto.SubmitTaskStatsResponse{}
	if p := a.obs.sink.Load(); p != nil {
		out.Accepted = (*p).RecordTaskStats(inst.Cluster, inst.ID, in)
	}
	return out, nil
}

// PlacementStats counts what the placement workers of this server did since
// it started, and how many launches wait for them now.
type PlacementStats struct {
	Batches   uint64 // commits attempted, each carrying one or more launches
	Placed    uint64 // tasks committed onto instances
	Unplaced  uint64 // tasks asked for that no instance could take
	Conflicts uint64 // commits that lost a race and were retried
	Queued    int    // launches waiting for a placement worker
}

// PlacementStats reports the placement workers' counts.
func (a *API) PlacementStats() PlacementStats {
	s := PlacementStats{
		Batches: a.obs.batches.Load(), Placed: a.obs.placed.Load(),
		Unplaced: a.obs.unplaced.Load(), Conflicts: a.obs.conflicts.Load(),
	}
	a.placers.mu.Lock()
	for _, p := range a.placers.m {
		s.Queued += len(p.jobs)
	}
	a.placers.mu.Unlock()
	return s
}

// The placement worker's hooks.

func (o *observers) planned(plan *scheduler.Plan) {
	o.unplaced.Add(uint64(len(plan.Tasks) - plan.Placed()))
}

func (o *observers) committed(txn store.Txn, err error) {
	o.batches.Add(1)
	if err == nil {
		for _, op := range txn.Ops {
			if strings.HasPrefix(op.Key, state.TasksPrefix) {
				o.placed.Add(1)
			}
		}
	} else if store.IsConflict(err) {
		o.conflicts.Add(1)
	}
}
