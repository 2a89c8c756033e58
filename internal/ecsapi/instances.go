package ecsapi

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

func (a *API) registerContainerInstances(s *awsproto.Service) {
	awsproto.Handle(s, "RegisterContainerInstance", a.RegisterContainerInstance)
	awsproto.Handle(s, "DeregisterContainerInstance", a.DeregisterContainerInstance)
	awsproto.Handle(s, "DescribeContainerInstances", a.DescribeContainerInstances)
	awsproto.Handle(s, "ListContainerInstances", a.ListContainerInstances)
	awsproto.Handle(s, "UpdateContainerInstancesState", a.UpdateContainerInstancesState)
}

// Container instance statuses. INACTIVE is not in the model's enum but is
// what ECS shows for a deregistered instance.
const (
	instanceActive   = "ACTIVE"
	instanceDraining = "DRAINING"
	instanceInactive = "INACTIVE"
)

// identityDocument is the part of an EC2 instance identity document Wharf
// uses. Anything else in it is ignored.
type identityDocument struct {
	InstanceID       string `json:"instanceId"`
	AvailabilityZone string `json:"availabilityZone"`
	InstanceType     string `json:"instanceType"`
	ImageID          string `json:"imageId"`
}

// parseIdentityDocument reads the document if it is JSON. A document that
// does not parse is no error: machines outside EC2 have none worth reading,
// and Wharf then names the instance itself.
func parseIdentityDocument(doc string) identityDocument {
	var d identityDocument
	if doc == "" || json.Unmarshal([]byte(doc), &d) != nil {
		return identityDocument{}
	}
	if !validEC2InstanceID(d.InstanceID) {
		d.InstanceID = ""
	}
	return d
}

// validEC2InstanceID accepts what EC2 and SSM use as instance IDs (i-..., mi-...):
// 1 to 64 letters, digits and hyphens.
func validEC2InstanceID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// identityAttrs are the attributes ECS derives from the identity document.
// The agent's own attributes of the same names win.
func (d identityDocument) attrs() []model.Attribute {
	var out []model.Attribute
	for _, kv := range [][2]string{
		{"ecs.availability-zone", d.AvailabilityZone},
		{"ecs.instance-type", d.InstanceType},
		{"ecs.ami-id", d.ImageID},
	} {
		if validAttributeValue(kv[1]) {
			out = append(out, model.Attribute{Name: kv[0], Value: kv[1]})
		}
	}
	return out
}

// newEC2InstanceID returns an ID of the EC2 form i-<17 hex digits>.
func newEC2InstanceID() string { return "i-" + newID()[:17] }

// validatePlatformDevices checks the devices and returns the GPU resource the
// instance registers: the one given, or one built from the GPU devices when
// the agent sent only those. Every GPU the resource lists must be a device.
func validatePlatformDevices(devs []model.PlatformDevice, total []model.Resource) ([]model.Resource, error) {
	var gpus []string
	for _, d := range devs {
		if d.Id == "" {
			return nil, invalidParam("Each platformDevices entry needs an id (the GPU ID or Neuron device index).")
		}
		if !d.Type.Valid() {
			return nil, invalidParam("Invalid platform device type %q for device %s: use GPU or NEURON_DEVICE.", d.Type, d.Id)
		}
		if d.Type == model.PlatformDeviceTypeGpu {
			gpus = append(gpus, d.Id)
		}
	}
	i := findResource(total, resNameGPU)
	if i < 0 {
		if len(gpus) > 0 {
			total = append(total, model.Resource{Name: resNameGPU, Type: resTypeStringSet, StringSetValue: gpus})
		}
		return total, nil
	}
	if len(devs) > 0 {
		for _, id := range total[i].StringSetValue {
			if !slices.Contains(gpus, id) {
				return nil, invalidParam("The GPU resource lists %q, which is not among the platformDevices of type GPU; list every GPU in both.", id)
			}
		}
	}
	return total, nil
}

func (a *API) RegisterContainerInstance(ctx context.Context, in *model.RegisterContainerInstanceRequest) (*model.RegisterContainerInstanceResponse, error) {
	attrs, err := registrationAttrs(in.Attributes)
	if err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	total, err := validatePlatformDevices(in.PlatformDevices, in.TotalResources)
	if err != nil {
		return nil, err
	}
	registered, err := normalizeTotalResources(total)
	if err != nil {
		return nil, err
	}
	doc := parseIdentityDocument(in.InstanceIdentityDocument)
	for _, at := range doc.attrs() {
		if !slices.ContainsFunc(attrs, func(x model.Attribute) bool { return x.Name == at.Name }) {
			attrs = append(attrs, at)
		}
	}
	var versionInfo *model.VersionInfo
	if in.VersionInfo != nil {
		v := *in.VersionInfo
		versionInfo = &v
	}
	var refCluster, refID string
	if in.ContainerInstanceArn != "" {
		if refCluster, refID, err = parseInstanceRef(in.ContainerInstanceArn); err != nil {
			return nil, err
		}
	}

	var out *state.ContainerInstance
	err = retry(ctx, func() error {
		c, crev, err := a.activeCluster(ctx, in.Cluster)
		if err != nil {
			return err
		}
		var inst *state.ContainerInstance
		conds := []store.Cond{{Key: state.ClusterKey(c.ClusterName), Revision: crev}}
		if refID != "" {
			if refCluster != "" && refCluster != c.ClusterName {
				return invalidParam("Container instance %s belongs to cluster %s, not %s: register it with cluster %s, or omit containerInstanceArn to register a new instance.", in.ContainerInstanceArn, refCluster, c.ClusterName, refCluster)
			}
			key := state.InstanceKey(c.ClusterName, refID)
			cur, rev, err := state.Get[state.ContainerInstance](ctx, a.st, key)
			if isNotFound(err) {
				return invalidParam("Container instance %s not found in cluster %s: omit containerInstanceArn to register a new instance.", in.ContainerInstanceArn, c.ClusterName)
			}
			if err != nil {
				return err
			}
			if cur.Status == instanceInactive {
				return clientErr("Container instance %s is deregistered (INACTIVE) and cannot register again: omit containerInstanceArn to register as a new instance.", cur.ContainerInstanceArn)
			}
			// Re-registration (an agent restart): the instance keeps its ID,
			// ARN, status and tasks; what the machine offers is read anew,
			// and the books are redone from the tasks. Every placement and
			// release writes the instance, so the condition on its revision
			// below also guards the task listing.
			tasks, err := a.instanceTasks(ctx, c.ClusterName, refID)
			if err != nil {
				return err
			}
			var held []state.TaskReservation
			var counts taskCounts
			for _, t := range tasks {
				if t.Val.Reserved != nil {
					held = append(held, *t.Val.Reserved)
				}
				counts.add(t.Val.LastStatus)
			}
			inst = cur
			inst.RemainingResources = reservedRemaining(registered, carryUsage(cur.RegisteredResources, cur.RemainingResources, registered), held)
			inst.RunningTasksCount = model.Ptr(counts.running)
			inst.PendingTasksCount = model.Ptr(counts.pending)
			inst.Attributes = reregistrationAttrs(cur.Attributes, attrs)
			inst.Tags = mergeTags(cur.Tags, in.Tags)
			if len(inst.Tags) > 50 {
				return invalidParam("Too many tags: the instance would have %d, at most 50 are allowed; remove some with UntagResource first.", len(inst.Tags))
			}
			if doc.InstanceID != "" {
				inst.Ec2InstanceId = doc.InstanceID
			}
			inst.Version = model.Ptr(model.Val(cur.Version) + 1)
			conds = append(conds, store.Cond{Key: key, Revision: rev})
		} else {
			id := newID()
			ec2ID := doc.InstanceID
			if ec2ID == "" {
				ec2ID = newEC2InstanceID()
			}
			inst = &state.ContainerInstance{
				Cluster: c.ClusterName,
				ID:      id,
				ContainerInstance: model.ContainerInstance{
					ContainerInstanceArn: a.arns.ContainerInstance(c.ClusterName, id),
					Ec2InstanceId:        ec2ID,
					Status:               instanceActive,
					RemainingResources:   cloneResources(registered),
					RegisteredAt:         a.timeNow(),
					Attributes:           attrs,
					Tags:                 in.Tags,
					Version:              model.Ptr(int64(1)),
					RunningTasksCount:    model.Ptr(int32(0)),
					PendingTasksCount:    model.Ptr(int32(0)),
				},
			}
			conds = append(conds, store.Cond{Key: state.InstanceKey(c.ClusterName, id), Revision: 0})
		}
		inst.RegisteredResources = registered
		inst.VersionInfo = versionInfo
		inst.AgentConnected = model.Ptr(true)
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: conds,
			Ops:   []store.Op{state.Put(state.InstanceKey(inst.Cluster, inst.ID), inst)},
		})
		out = inst
		return err
	})
	if err != nil {
		return nil, err
	}
	a.beats.beat(out.ID, a.now())
	// The counts were just set from the tasks (or are 0 for a new
	// instance), so the answer needs no second look at the tasks.
	return &model.RegisterContainerInstanceResponse{ContainerInstance: &out.ContainerInstance}, nil
}

// forcedStopReason is what a task that was on a force-deregistered instance
// shows as stoppedReason.
const forcedStopReason = "Container instance deregistered"

func (a *API) DeregisterContainerInstance(ctx context.Context, in *model.DeregisterContainerInstanceRequest) (*model.DeregisterContainerInstanceResponse, error) {
	if in.ContainerInstance == "" {
		return nil, invalidParam("containerInstance is required: give the ID or ARN of the container instance to deregister.")
	}
	if _, _, err := parseInstanceRef(in.ContainerInstance); err != nil {
		return nil, err
	}
	force := model.Val(in.Force)
	var out *state.ContainerInstance
	err := retry(ctx, func() error {
		inst, rev, err := a.instanceByRef(ctx, in.Cluster, in.ContainerInstance)
		if err != nil {
			return err
		}
		out = inst
		if inst.Status == instanceInactive {
			return nil // already deregistered: deregistering again changes nothing
		}
		tasks, err := a.instanceTasks(ctx, inst.Cluster, inst.ID)
		if err != nil {
			return err
		}
		if len(tasks) > 0 && !force {
			return invalidParam("Found running tasks on the instance: %d tasks on %s are not STOPPED. Stop them first (StopTask), drain the instance (UpdateContainerInstancesState --status DRAINING), or deregister with force.", len(tasks), inst.ContainerInstanceArn)
		}
		key := state.InstanceKey(inst.Cluster, inst.ID)
		txn := store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}}
		now := a.timeNow()
		for _, t := range tasks {
			// ECS leaves a force-deregistered instance's tasks running but
			// orphaned. Wharf's agent stops polling once its instance is
			// INACTIVE, so it could never report those tasks again: they are
			// marked STOPPED here, in the same transaction, so services
			// replace them and the counts free up. desiredStatus STOPPED
			// still tells an agent that polls once more to stop them.
			stopOrphanedTask(t.Val, now)
			txn.Conds = append(txn.Conds, store.Cond{Key: t.Key, Revision: t.Rev})
			txn.Ops = append(txn.Ops, state.Put(t.Key, t.Val))
		}
		inst.Status = instanceInactive
		inst.AgentConnected = model.Ptr(false)
		inst.RemainingResources = cloneResources(inst.RegisteredResources)
		inst.RunningTasksCount = model.Ptr(int32(0))
		inst.PendingTasksCount = model.Ptr(int32(0))
		inst.Version = model.Ptr(model.Val(inst.Version) + 1)
		txn.Ops = append(txn.Ops, state.Put(key, inst))
		_, err = a.st.Commit(ctx, txn)
		return err
	})
	if err != nil {
		return nil, err
	}
	// A deregistered instance holds no tasks: its stored counts are 0.
	ci := out.ContainerInstance
	ci.Tags = nil
	return &model.DeregisterContainerInstanceResponse{ContainerInstance: &ci}, nil
}

// stopOrphanedTask marks a task of a force-deregistered instance STOPPED.
// stopCode is UserInitiated: the stop follows from a user's deregistration.
func stopOrphanedTask(t *state.Task, now *model.Time) {
	t.DesiredStatus = "STOPPED"
	t.LastStatus = "STOPPED"
	t.StopCode = model.TaskStopCodeUserInitiated
	t.StoppedReason = forcedStopReason
	if t.StoppingAt == nil {
		t.StoppingAt = now
	}
	if t.ExecutionStoppedAt == nil {
		t.ExecutionStoppedAt = now
	}
	t.StoppedAt = now
	for i := range t.Containers {
		t.Containers[i].LastStatus = "STOPPED"
	}
	t.Version = model.Ptr(model.Val(t.Version) + 1)
}
