// Package scheduler is Wharf's placement engine. Place takes an immutable
// Snapshot of a cluster's container instances and a Request for tasks, and
// returns a Plan: the instance chosen for each task and, for the tasks it
// could not place, why each instance refused.
//
// It is pure: no I/O, no clock, no randomness that the request does not seed.
// The same snapshot and request always give the same plan, which is what lets
// the caller retry after an optimistic-concurrency conflict and lets tests
// compare plans exactly.
//
// Placement follows ECS. Feasibility checks filter the instances, in this
// order: status ACTIVE, agent connected, launch type, required attributes,
// the constraints distinctInstance and memberOf, then the resources (CPU
// units, memory, static host ports, GPUs). The first check an instance fails
// is the one reported for it. The placement strategies then rank what is
// left, in the order the request lists them: each strategy only breaks the
// ties of the ones before it, and snapshot order breaks whatever ties remain.
//
// Each check is a small type with one method and each strategy a small type
// that gives a candidate a key (lower is better); the stack built for a
// request is just the list of those the request asks for. Adding a
// constraint or a strategy means adding one such type and one line of
// wiring in stack.go.
//
// Tasks are placed one at a time on a working copy of the snapshot, so the
// second task of a request sees the CPU, memory, ports, GPUs and task-group
// count that the first one took. The working copy is copy-on-write: only the
// instances a plan touches are copied.
//
// Within a plan, an instance the plan has not touched is the snapshot's, so
// a check that rejected it keeps rejecting it; the engine uses that twice.
// When the first strategy is binpack, it does not scan: the snapshot keeps
// the instances sorted by remaining CPU and by remaining memory, and the
// engine walks that order from the tightest fit, stops at the first feasible
// instance (or, when later strategies break ties, at the end of its tie),
// and starts the next task's walk past the instances already rejected. Other
// strategies scan, but only the first scan of a plan checks every instance;
// later ones revisit the feasible ones. A memberOf Matcher must therefore
// answer from the instance alone.
package scheduler
