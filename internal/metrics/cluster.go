package metrics

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// What Utilization reads of the store: each task's reservation, service and
// instance (to weigh and check samples, and count tasks by state), and each
// instance's registered and remaining resources.

// taskDoc is the part of a stored task Utilization needs.
type taskDoc struct {
	InstanceID string                 `json:"wharfInstanceId"`
	Group      string                 `json:"group"`
	LastStatus string                 `json:"lastStatus"`
	CPU        string                 `json:"cpu"`
	Memory     string                 `json:"memory"`
	Reserved   *state.TaskReservation `json:"wharfReserved"`
}

// instance is what Utilization exports of a container instance.
type instance struct {
	cluster, id, status        string
	connected                  bool
	cpu, memory                [2]int64 // registered, remaining
	runningTasks, pendingTasks int32
}

// splitKey is CLUSTER and ID of PREFIX/CLUSTER/ID.
func splitKey(prefix, key string) (cluster, id string) {
	cluster, id, _ = strings.Cut(strings.TrimPrefix(key, prefix), "/")
	return cluster, id
}

func (u *Utilization) loadTasks(kvs []store.KV, _ int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	present := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		present[kv.Key] = true
		u.setTaskLocked(kv.Key, kv)
	}
	for key := range u.tasks {
		if !present[key] {
			u.setTaskLocked(key, store.KV{})
		}
	}
	u.readyOnce[0].Do(func() { close(u.ready[0]) })
}

func (u *Utilization) applyTask(ev store.Event) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if ev.Type == store.EventDelete {
		u.setTaskLocked(ev.KV.Key, store.KV{})
		return
	}
	u.setTaskLocked(ev.KV.Key, ev.KV)
}

// setTaskLocked takes the task stored under key (nil: deleted) into the
// view.
func (u *Utilization) setTaskLocked(key string, kv store.KV) {
	old := u.tasks[key]
	if old != nil {
		cluster, _ := old.clusterID()
		u.count(cluster, old.status, -1)
	}
	if kv.Value == nil {
		delete(u.tasks, key)
		return
	}
	var d taskDoc
	if t := state.Tasks.Peek(kv); t != nil {
		d = taskDoc{InstanceID: t.InstanceID, Group: t.Group, LastStatus: t.LastStatus, CPU: t.Cpu, Memory: t.Memory, Reserved: t.Reserved}
	} else if err := json.Unmarshal(kv.Value, &d); err != nil {
		u.log.Warn("undecodable task document", "key", key, "err", err)
		delete(u.tasks, key)
		return
	}
	t := old
	if t == nil {
		t = &task{key: key}
		u.tasks[key] = t
	}
	// Interned: a million tasks name ten thousand instances, a few
	// statuses and services.
	t.instanceID, t.status = state.Intern(d.InstanceID), state.Intern(d.LastStatus)
	t.service = ""
	if name, ok := strings.CutPrefix(d.Group, "service:"); ok {
		t.service = state.Intern(name)
	}
	if d.Reserved != nil {
		t.cpuRes, t.memRes = float32(d.Reserved.CPU), float32(d.Reserved.Memory)
	} else {
		t.cpuRes, t.memRes = float32(atof(d.CPU)), float32(atof(d.Memory))
	}
	if t.status == "STOPPED" {
		t.series = series{} // a stopped task's history is its service's
	}
	cluster, _ := t.clusterID()
	u.count(cluster, t.status, 1)
}

func atof(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0
	}
	return f
}

func (u *Utilization) count(cluster, status string, n int) {
	k := statusKey{cluster, status}
	u.counts[k] += n
	if u.counts[k] == 0 {
		delete(u.counts, k)
	}
}

func (u *Utilization) loadInstances(kvs []store.KV, _ int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.instances = make(map[string]*instance, len(kvs))
	for _, kv := range kvs {
		u.setInstanceLocked(kv)
	}
	u.readyOnce[1].Do(func() { close(u.ready[1]) })
}

func (u *Utilization) applyInstance(ev store.Event) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if ev.Type == store.EventDelete {
		delete(u.instances, ev.KV.Key)
		return
	}
	u.setInstanceLocked(ev.KV)
}

func (u *Utilization) setInstanceLocked(kv store.KV) {
	key := kv.Key
	ci, err := state.Instances.Decode(kv)
	if err != nil {
		u.log.Warn("undecodable container instance document", "key", key, "err", err)
		delete(u.instances, key)
		return
	}
	in := &instance{status: ci.Status, connected: model.Val(ci.AgentConnected),
		runningTasks: model.Val(ci.RunningTasksCount), pendingTasks: model.Val(ci.PendingTasksCount)}
	in.cluster, in.id = splitKey(state.InstancesPrefix, key)
	in.cpu[0], in.memory[0] = resources(ci.RegisteredResources)
	in.cpu[1], in.memory[1] = resources(ci.RemainingResources)
	u.instances[key] = in
}

// resources are the CPU units and MiB of memory of an ECS resource list.
func resources(rs []model.Resource) (cpu, mem int64) {
	for _, r := range rs {
		v := int64(model.Val(r.IntegerValue))
		if r.LongValue != nil {
			v = *r.LongValue
		}
		switch r.Name {
		case "CPU":
			cpu = v
		case "MEMORY":
			mem = v
		}
	}
	return cpu, mem
}
