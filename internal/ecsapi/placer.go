package ecsapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/scheduler"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Placement runs through one worker per cluster (per server). The worker
// keeps a scheduler snapshot of the cluster current from the instance cache
// and the task index, takes every launch waiting for it, places them one after
// the other on that snapshot (each seeing the ones before), and commits them
// all in one transaction conditioned on the revisions of the instances it
// chose. Concurrent RunTask callers thus never race each other inside a
// server, their commits share one fsync, and a race with another server (or
// an agent's report touching the same instance) is a conflict that refreshes
// the snapshot and retries.

// maxBatch bounds the launches one commit carries.
const maxBatch = 64

// placeJob is one launch waiting for the worker.
type placeJob struct {
	ctx   context.Context
	l     *taskLaunch
	count int
	req   scheduler.Request
	// tokenKey and tokenHash make the commit record a RunTask clientToken.
	tokenKey, tokenHash string
	// rev is the store revision when the launch was submitted: the batch
	// waits until the caches reflect it, so a launch sees every write made
	// before it (an instance registered just before RunTask, say).
	rev  int64
	done chan placeResult
	// queued, when set, is a task waiting for capacity (queue.go) at
	// revision queuedRev: placing it fills in its instance instead of
	// creating a task, and leaving it unplaced writes nothing.
	queued    *state.Task
	queuedRev int64
	// fenceKey is the key of the launching leader's fence the commit is
	// conditioned on, for a service's launch.
	fenceKey string
}

type placeResult struct {
	out *model.RunTaskResponse
	err error
}

type placer struct {
	a       *API
	cluster string
	jobs    chan *placeJob

	// Owned by the worker goroutine.
	flying *flight // the batch being committed, nil when none
	snap   *scheduler.Snapshot
	seen   map[string]placedInstance // instance ID → what the snapshot holds
	need   int64                     // the store revision the caches must reach first
	// gen is how far the snapshot has taken in the instance cache's
	// changes; recheck holds instances whose change refresh passed over
	// while a batch in the air had them (see refresh).
	gen     int64
	recheck map[string]bool
	landed  int64 // the revision of the last flight that committed
	// limit bounds the launches of the next batch: halved when a commit
	// loses a race, grown by one with each that wins. A batch conditions
	// on every instance it places on, so while agents' reports rewrite
	// instances quickly, big batches lose nearly always and their callers
	// run out of retries; small ones get through.
	limit int
	seed  uint64
}

// placedInstance is an instance as the snapshot knows it: the store entry it
// came from (rev -1 while it carries a plan not yet committed) and its
// scheduler form.
type placedInstance struct {
	entry cachedInstance
	sched scheduler.Instance
}

type placers struct {
	mu sync.Mutex
	m  map[string]*placer
}

// placerFor returns the cluster's worker, starting it on first use. It lives
// as long as the API's background context.
func (a *API) placerFor(cluster string) *placer {
	a.placers.mu.Lock()
	defer a.placers.mu.Unlock()
	if a.placers.m == nil {
		a.placers.m = map[string]*placer{}
	}
	p := a.placers.m[cluster]
	if p == nil {
		p = &placer{a: a, cluster: cluster, jobs: make(chan *placeJob, maxBatch)}
		a.placers.m[cluster] = p
		go p.run(a.bgCtx())
	}
	return p
}

// place submits a launch and waits for its outcome. A store conflict comes
// back as is, so the caller's retry loop submits again.
func (p *placer) place(ctx context.Context, job *placeJob) (*model.RunTaskResponse, error) {
	rev, err := p.a.st.Revision(ctx)
	if err != nil {
		return nil, err
	}
	job.ctx, job.rev = ctx, rev
	job.done = make(chan placeResult, 1)
	select {
	case p.jobs <- job:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-job.done:
		return r.out, r.err
	case <-ctx.Done():
		// The worker may still commit the job; RunTask's clientToken is
		// how a caller makes such a retry safe, as with ECS.
		return nil, ctx.Err()
	}
}

// The worker pipelines: while one batch's commit is on its way to the store
// (its fsync), it places the next batch on a snapshot that already holds the
// first one's placements. The second batch is committed only once the first
// has landed: its conditions on the instances both touched need the first
// one's revision, and if the first failed, the second was planned on
// placements that never happened and goes back to its callers as a conflict,
// which they retry.
func (p *placer) run(ctx context.Context) {
	defer p.land() // its callers still get their answers
	for {
		var batch []*placeJob
		var landed <-chan struct{}
		if p.flying != nil {
			landed = p.flying.done
		}
		select {
		case <-ctx.Done():
			return
		case <-landed:
			p.land()
			continue
		case j := <-p.jobs:
			batch = append(batch, j)
		}
	drain:
		for len(batch) < p.batchLimit() {
			select {
			case j := <-p.jobs:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		f := p.prepare(ctx, batch)
		below := p.flying
		p.land()
		if f == nil {
			continue
		}
		if (below != nil && below.err != nil) || (below == nil && len(f.pending) > 0) {
			p.forget(f)
			for _, pj := range f.placed {
				answer(pj.j, nil, &store.ConflictError{Key: state.ClusterKey(p.cluster)})
			}
			continue
		}
		for _, i := range f.pending {
			f.txn.Conds[i].Revision = below.rev
		}
		p.launch(ctx, f)
	}
}

// errTermOver answers a service launch whose leader lost its term while the
// launch was being committed.
var errTermOver = errors.New("the launching server is no longer the leader")

func answer(j *placeJob, out *model.RunTaskResponse, err error) {
	j.done <- placeResult{out: out, err: err}
}

// flight is a placed batch: its transaction, and the answers its callers get
// once the transaction commits.
type flight struct {
	placed  []placedJob
	touched map[string]*state.ContainerInstance // instance ID → the batch's copy
	tokens  map[string]bool                     // RunTask clientToken keys it records
	txn     store.Txn
	// pending are the conditions (indexes in txn.Conds) on instances the
	// flight below this one writes: their revision is that flight's.
	pending []int

	done chan struct{} // closed once rev and err are set
	rev  int64
	err  error
}

type placedJob struct {
	j   *placeJob
	out *model.RunTaskResponse
}

// launch sends the flight's transaction to the store.
func (p *placer) launch(ctx context.Context, f *flight) {
	f.done = make(chan struct{})
	p.flying = f
	go func() {
		f.rev, f.err = p.a.st.Commit(ctx, f.txn)
		close(f.done)
	}()
}

// land waits for the flight in the air, if any, and settles it: its callers
// get their answers, and the snapshot learns the revision of what it wrote,
// or forgets the placements that did not happen.
func (p *placer) land() {
	f := p.flying
	if f == nil {
		return
	}
	<-f.done
	p.flying = nil
	p.a.obs.committed(f.txn, f.err)
	if f.err != nil {
		// The snapshot carries placements that did not happen: its
		// instances are taken anew from the caches, once they have seen
		// whatever beat us.
		p.forget(f)
		p.limit = max(1, p.batchLimit()/2)
		var ce *store.ConflictError
		if errors.As(f.err, &ce) {
			p.need = max(p.need, ce.Actual)
		}
		for _, pj := range f.placed {
			if ce != nil && pj.j.fenceKey == ce.Key {
				// Not a race to retry: the launching leader's term is over.
				answer(pj.j, nil, fmt.Errorf("%w: its fence %s is gone", errTermOver, ce.Key))
				continue
			}
			answer(pj.j, nil, f.err)
		}
		return
	}
	// Every document of a transaction carries its revision: the instances
	// just written are now exactly the worker's copies at rev. Keeping them
	// spares the next batch a wait for the caches to catch up with this
	// commit; a newer change by anyone else still reaches it through the
	// caches (refresh takes the higher revision), or as a conflict. An
	// instance the next batch has placed on since stays that batch's.
	for id, inst := range f.touched {
		if pi, ok := p.seen[id]; ok && pi.entry.inst == inst {
			pi.entry.rev = f.rev
			p.seen[id] = pi
		}
	}
	p.landed = f.rev
	p.limit = min(maxBatch, p.batchLimit()+1)
	for _, pj := range f.placed {
		answer(pj.j, pj.out, nil)
	}
}

// batchLimit is how many launches the next batch may carry.
func (p *placer) batchLimit() int {
	if p.limit <= 0 {
		return maxBatch
	}
	return p.limit
}

// staleRev marks a snapshot instance that holds placements which did not
// happen: refresh replaces it with the cache's, whatever its revision.
const staleRev = -2

// forget takes the placements of a flight that did not commit out of the
// snapshot: each instance it placed on is taken anew from the instance cache
// on the next refresh, once the cache has seen at least the last commit that
// landed. One conflict used to rebuild the whole snapshot, ten thousand
// instances, while agents' reports race placements on every instance.
func (p *placer) forget(f *flight) {
	p.need = max(p.need, p.landed)
	if p.recheck == nil {
		p.recheck = map[string]bool{}
	}
	for id, inst := range f.touched {
		if pi, ok := p.seen[id]; ok && pi.entry.inst == inst {
			pi.entry.rev = staleRev
			p.seen[id] = pi
			p.recheck[id] = true
		}
	}
}

// prepare places a batch on the snapshot and returns its flight, or nil when
// it has nothing to write (every launch already answered).
func (p *placer) prepare(ctx context.Context, batch []*placeJob) *flight {
	fail := func(err error) *flight {
		for _, j := range batch {
			answer(j, nil, err)
		}
		return nil
	}
	if p.snap == nil {
		// A snapshot rebuilt from the caches would miss the placements of
		// the batch in the air.
		p.land()
	}
	need := p.need
	for _, j := range batch {
		need = max(need, j.rev)
	}
	if err := p.refresh(ctx, need); err != nil {
		p.snap = nil
		return fail(err)
	}
	_, crev, err := p.a.activeCluster(ctx, p.cluster)
	if err != nil {
		return fail(err)
	}
	f := &flight{touched: map[string]*state.ContainerInstance{}, tokens: map[string]bool{}}
	f.txn.Conds = []store.Cond{{Key: state.ClusterKey(p.cluster), Revision: crev}}
	txn, touched := &f.txn, f.touched
	written := map[string]*state.Task{} // key → the task written
	now := p.a.timeNow()
	for _, j := range batch {
		if j.ctx.Err() != nil {
			answer(j, nil, j.ctx.Err())
			continue
		}
		if j.tokenKey != "" {
			if f.tokens[j.tokenKey] || (p.flying != nil && p.flying.tokens[j.tokenKey]) {
				// A retry of a launch in this very batch or the one in
				// the air: answer it as a lost race, so it comes back and
				// replays the first one's outcome once that is committed.
				answer(j, nil, &store.ConflictError{Key: j.tokenKey})
				continue
			}
			f.tokens[j.tokenKey] = true
		}
		if j.l.fence != nil {
			c, err := j.l.fence()
			if err != nil {
				answer(j, nil, err)
				continue
			}
			j.fenceKey = c.Key
			if !slices.Contains(txn.Conds, c) {
				txn.Conds = append(txn.Conds, c)
			}
		}
		if !p.anyActive(j.l.launchType == model.LaunchTypeFargate) {
			switch {
			case j.queued != nil:
				answer(j, &model.RunTaskResponse{}, nil) // still waiting
				continue
			case j.l.waitFor == 0:
				answer(j, nil, invalidParam("No Container Instances were found in your cluster. Start a wharf agent that registers into cluster %s (RegisterContainerInstance), then run the task again.", p.cluster))
				continue
			}
			// Waiting for capacity: the plan places nothing and every task
			// waits for an instance to come.
		}
		p.seed++
		j.req.Seed = p.seed
		plan, err := scheduler.Place(p.snap, &j.req)
		if err != nil {
			answer(j, nil, invalidParam("%v", err))
			continue
		}
		p.a.obs.planned(plan)
		out := &model.RunTaskResponse{Tasks: []model.Task{}, Failures: rejectionsToFailures(p.visible(plan.Rejections))}
		if plan.Placed() == 0 && (j.queued != nil || j.l.waitFor == 0) {
			// Nothing placed, nothing written: not even the clientToken, so
			// a retry once capacity frees up can still place the tasks.
			answer(j, out, nil)
			continue
		}
		var upserts []scheduler.Instance
		var arns []string
		if j.l.waitFor > 0 && j.queued == nil && plan.Placed() < len(plan.Tasks) {
			// The tasks that fit nowhere wait for capacity instead of
			// failing: they are answered as tasks, PROVISIONING.
			out.Failures = nil
		}
		for _, pl := range plan.Tasks {
			if pl.ID == "" {
				if j.l.waitFor > 0 && j.queued == nil {
					t := p.a.queuedTask(j.l, now)
					key := state.TaskKey(p.cluster, taskIDFromKey(t.TaskArn))
					txn.Conds = append(txn.Conds, store.Cond{Key: key, Revision: 0})
					txn.Ops = append(txn.Ops, state.Put(key, t))
					written[key] = t
					out.Tasks = append(out.Tasks, t.Task)
					arns = append(arns, t.TaskArn)
				}
				continue
			}
			inst := touched[pl.ID]
			if inst == nil {
				e := p.seen[pl.ID].entry
				// A shallow copy is enough: reserveOn replaces, never
				// modifies, the fields it changes, and the rest stays shared
				// read-only with the cache.
				c := *e.inst
				inst = &c
				touched[pl.ID] = inst
				if e.rev < 0 {
					f.pending = append(f.pending, len(txn.Conds))
				}
				txn.Conds = append(txn.Conds, store.Cond{Key: e.key, Revision: e.rev})
			}
			var t *state.Task
			cond := int64(0)
			if j.queued != nil {
				t = placeQueued(j.queued, inst, j.l.demand)
				cond = j.queuedRev
			} else {
				t = p.a.newTask(j.l, inst, now)
			}
			reserveOn(inst, j.l.demand)
			key := state.TaskKey(p.cluster, taskIDFromKey(t.TaskArn))
			txn.Conds = append(txn.Conds, store.Cond{Key: key, Revision: cond})
			txn.Ops = append(txn.Ops, state.Put(key, t))
			written[key] = t
			out.Tasks = append(out.Tasks, t.Task)
			arns = append(arns, t.TaskArn)
			// The snapshot learns of the placement at once, so the next
			// launch of the batch sees it.
			si := p.seen[pl.ID].sched
			si = withPlacement(si, inst, j.l.group)
			p.seen[pl.ID] = placedInstance{entry: cachedInstance{key: p.seen[pl.ID].entry.key, rev: -1, inst: inst}, sched: si}
			upserts = append(upserts, si)
		}
		if j.tokenKey != "" {
			rec := runTaskToken{Hash: j.tokenHash, TaskArns: arns, Failures: out.Failures, CreatedAt: now}
			txn.Conds = append(txn.Conds, store.Cond{Key: j.tokenKey, Revision: 0})
			txn.Ops = append(txn.Ops, state.Put(j.tokenKey, rec))
		}
		p.snap = p.snap.With(upserts, nil)
		f.placed = append(f.placed, placedJob{j, out})
	}
	if len(f.placed) == 0 {
		return nil
	}
	for id, inst := range touched {
		txn.Ops = append(txn.Ops, state.Put(state.InstanceKey(p.cluster, id), inst))
	}
	// The followers of the store (caches, metrics, service discovery) will
	// decode what is about to be written: hand them the values.
	for _, op := range txn.Ops {
		if t := written[op.Key]; t != nil {
			state.Tasks.Remember(op.Key, op.Value, t)
		} else if _, id, ok := splitInstanceKey(op.Key); ok && touched[id] != nil {
			state.Instances.Remember(op.Key, op.Value, touched[id])
		}
	}
	return f
}

// refresh brings the snapshot up to date with the caches, once they have seen
// the store at need: the newest revision a launch of the batch was submitted
// at, or what beat the worker's last commit if it lost a race. An instance the worker wrote itself is taken from the cache only
// once the cache holds a newer revision of it.
func (p *placer) refresh(ctx context.Context, need int64) error {
	if err := p.a.index.fresh(ctx, need); err != nil {
		return err
	}
	gen := p.gen
	if p.snap == nil {
		p.seen, p.recheck, gen = map[string]placedInstance{}, map[string]bool{}, 0
	}
	entries, gone, next, all, err := p.a.instances.changedSince(ctx, p.cluster, need, gen)
	if err != nil {
		return err
	}
	p.gen = next
	var changed []cachedInstance
	var removed []string
	consider := func(e cachedInstance) {
		// An instance the batch in the air has placed on keeps the
		// worker's copy until that batch lands (rev -1 until then); its
		// change is looked at again on the next refresh.
		have, ok := p.seen[e.inst.ID]
		switch {
		case ok && have.entry.rev == staleRev:
			changed = append(changed, e)
		case ok && have.entry.rev < 0:
			p.recheck[e.inst.ID] = true
		case !ok || e.rev > have.entry.rev:
			changed = append(changed, e)
		}
	}
	if all {
		clear(p.recheck) // every instance is looked at now
		present := make(map[string]bool, len(entries))
		for _, e := range entries {
			present[e.inst.ID] = true
			consider(e)
		}
		for id := range p.seen {
			if !present[id] {
				removed = append(removed, id)
			}
		}
	} else {
		for _, id := range gone {
			if _, ok := p.seen[id]; ok {
				removed = append(removed, id)
			}
			delete(p.recheck, id)
		}
		listed := make(map[string]bool, len(entries))
		for _, e := range entries {
			listed[e.inst.ID] = true
			delete(p.recheck, e.inst.ID)
			consider(e)
		}
		for id := range p.recheck {
			if listed[id] {
				continue
			}
			delete(p.recheck, id)
			if e, ok := p.a.instances.lookup(p.cluster, id); ok {
				consider(e)
			} else if _, ok := p.seen[id]; ok {
				removed = append(removed, id)
			}
		}
	}
	for _, id := range removed {
		delete(p.seen, id)
	}
	ids := make([]string, len(changed))
	for i, e := range changed {
		ids[i] = e.inst.ID
	}
	groups, active := p.a.index.instanceTasks(ids)
	upserts := make([]scheduler.Instance, len(changed))
	for i, e := range changed {
		upserts[i] = schedInstance(e.inst, groups[i], active[i])
		p.seen[e.inst.ID] = placedInstance{entry: e, sched: upserts[i]}
	}
	if p.snap == nil {
		p.snap = scheduler.NewSnapshot(upserts)
	} else if len(upserts) > 0 || len(removed) > 0 {
		p.snap = p.snap.With(upserts, removed)
	}
	return nil
}

// anyActive reports whether the cluster has an ACTIVE instance of the
// Fargate pool (fargate) or of its own.
func (p *placer) anyActive(fargate bool) bool {
	for _, pi := range p.seen {
		if pi.sched.Status == instanceActive && inFargatePool(pi.entry.inst) == fargate {
			return true
		}
	}
	return false
}

// schedInstance is the scheduler's view of a stored instance.
func schedInstance(inst *state.ContainerInstance, groups map[string]int, running int) scheduler.Instance {
	rem := inst.RemainingResources
	s := scheduler.Instance{
		ID: inst.ID, ARN: inst.ContainerInstanceArn, Status: inst.Status,
		AgentConnected: model.Val(inst.AgentConnected),
		EC2InstanceID:  inst.Ec2InstanceId,
		CPU:            int64(resourceInt(rem, resNameCPU)),
		Memory:         int64(resourceInt(rem, resNameMemory)),
		PortsTCP:       portNumbers(resourcePorts(rem, resNamePorts)),
		PortsUDP:       portNumbers(resourcePorts(rem, resNamePortsUDP)),
		Attributes:     attributeMap(inst.Attributes),
		Groups:         groups,
		RunningTasks:   running,
	}
	if inst.VersionInfo != nil {
		s.AgentVersion = inst.VersionInfo.AgentVersion
	}
	if inst.RegisteredAt != nil {
		s.RegisteredAt = inst.RegisteredAt.Time
	}
	return s
}

// attrMaps shares the scheduler's attribute maps among instances whose
// decoded attribute lists are shared (state.Instances shares equal lists):
// one map for a fleet's common capabilities instead of one for each
// instance, rebuilt on each of its changes. The maps are read-only.
var attrMaps = struct {
	sync.Mutex
	m map[*model.Attribute]sharedAttrs
}{m: map[*model.Attribute]sharedAttrs{}}

type sharedAttrs struct {
	n int // the length of the list the map was built from
	m map[string]string
}

func attributeMap(attrs []model.Attribute) map[string]string {
	if len(attrs) == 0 {
		return map[string]string{}
	}
	first := &attrs[0]
	attrMaps.Lock()
	defer attrMaps.Unlock()
	if e, ok := attrMaps.m[first]; ok && e.n == len(attrs) {
		return e.m
	}
	m := make(map[string]string, len(attrs))
	for _, at := range attrs {
		m[at.Name] = at.Value
	}
	if len(attrMaps.m) >= 4096 {
		clear(attrMaps.m)
	}
	attrMaps.m[first] = sharedAttrs{len(attrs), m}
	return m
}

// withPlacement is si after one more task of group lands on it; inst is the
// instance with the task's resources already reserved.
func withPlacement(si scheduler.Instance, inst *state.ContainerInstance, group string) scheduler.Instance {
	rem := inst.RemainingResources
	si.CPU = int64(resourceInt(rem, resNameCPU))
	si.Memory = int64(resourceInt(rem, resNameMemory))
	si.PortsTCP = portNumbers(resourcePorts(rem, resNamePorts))
	si.PortsUDP = portNumbers(resourcePorts(rem, resNamePortsUDP))
	groups := make(map[string]int, len(si.Groups)+1)
	for k, v := range si.Groups {
		groups[k] = v
	}
	groups[group]++
	si.Groups = groups
	si.RunningTasks++
	return si
}

func portNumbers(ports []string) []int32 {
	out := make([]int32, 0, len(ports))
	for _, p := range ports {
		if n, err := strconv.Atoi(p); err == nil {
			out = append(out, int32(n))
		}
	}
	return out
}

// rejectionsToFailures turns the scheduler's per-instance rejections into
// ECS failures, one per instance and reason; instances that are not ACTIVE
// carry no reason and are not failures in ECS's answer.
func rejectionsToFailures(rs []scheduler.Rejection) []model.Failure {
	out := []model.Failure{}
	seen := map[[2]string]bool{}
	for _, r := range rs {
		k := [2]string{r.ARN, r.Reason}
		if r.Reason == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, model.Failure{Arn: r.ARN, Reason: r.Reason, Detail: r.Detail})
	}
	return out
}

// schedRequest builds the scheduler's request for a launch: its needs, the
// constraints of the request and of the task definition, and the strategies
// (RunTask's default when none is given).
func schedRequest(l *taskLaunch, count int, constraints []model.PlacementConstraint, strategies []model.PlacementStrategy, defaults []scheduler.Strategy) (scheduler.Request, error) {
	r := scheduler.Request{
		Count: count,
		Task: scheduler.Needs{
			CPU: int64(l.demand.CPU), Memory: int64(l.demand.Memory),
			PortsTCP: portNumbers(l.demand.PortsTCP), PortsUDP: portNumbers(l.demand.PortsUDP),
		},
		LaunchType: scheduler.LaunchType(l.launchType),
		Group:      l.group,
	}
	for _, at := range l.td.RequiresAttributes {
		r.RequiresAttributes = append(r.RequiresAttributes, scheduler.Attribute{Name: at.Name, Value: at.Value})
	}
	capacityRequirements(l, &r)
	all := append([]model.PlacementConstraint(nil), constraints...)
	for _, c := range l.td.PlacementConstraints {
		all = append(all, model.PlacementConstraint{Type: model.PlacementConstraintType(c.Type), Expression: c.Expression})
	}
	for _, c := range all {
		switch c.Type {
		case model.PlacementConstraintTypeDistinctInstance:
			r.DistinctInstance = true
		case model.PlacementConstraintTypeMemberOf:
			if _, err := parseQuery("memberOf", c.Expression); err != nil {
				return r, err
			}
			m, err := scheduler.CompileMemberOf(c.Expression)
			if err != nil {
				return r, invalidParam("Invalid memberOf expression %q: %v.", c.Expression, err)
			}
			r.MemberOf = append(r.MemberOf, m)
		}
	}
	for _, s := range strategies {
		field := s.Field
		switch {
		case strings.EqualFold(field, "instanceId"):
			field = scheduler.FieldInstanceID
		case strings.EqualFold(field, "host"):
			field = scheduler.FieldHost
		case strings.EqualFold(field, "cpu"):
			field = scheduler.FieldCPU
		case strings.EqualFold(field, "memory"):
			field = scheduler.FieldMemory
		}
		r.Strategies = append(r.Strategies, scheduler.Strategy{Type: scheduler.StrategyType(strings.ToLower(string(s.Type))), Field: field})
	}
	if len(strategies) == 0 {
		r.Strategies = defaults
	}
	return r, nil
}
