package ecsapi

import (
	"context"
	"encoding/json"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

func (a *API) registerTaskDefinitions(s *awsproto.Service) {
	awsproto.Handle(s, "RegisterTaskDefinition", a.RegisterTaskDefinition)
	awsproto.Handle(s, "DescribeTaskDefinition", a.DescribeTaskDefinition)
	awsproto.Handle(s, "ListTaskDefinitions", a.ListTaskDefinitions)
	awsproto.Handle(s, "ListTaskDefinitionFamilies", a.ListTaskDefinitionFamilies)
	awsproto.Handle(s, "DeregisterTaskDefinition", a.DeregisterTaskDefinition)
	awsproto.Handle(s, "DeleteTaskDefinitions", a.DeleteTaskDefinitions)
}

func (a *API) RegisterTaskDefinition(ctx context.Context, in *model.RegisterTaskDefinitionRequest) (*model.RegisterTaskDefinitionResponse, error) {
	tags := in.Tags
	td, err := buildTaskDefinition(in)
	if err != nil {
		return nil, err
	}
	if err := a.checkStopTimeouts(td); err != nil {
		return nil, err
	}
	td.Status = model.TaskDefinitionStatusActive
	td.RegisteredBy = "arn:aws:iam::" + a.arns.Account + ":root"
	famKey := state.FamilyKey(td.Family)
	var rec state.TaskDefinition
	// The family record hands out revisions: the commit is conditioned on
	// the revision of the family record that was read, so two concurrent
	// registrations of one family cannot both take the same number.
	err = retry(ctx, func() error {
		fam, famRev, err := state.Get[state.Family](ctx, a.st, famKey)
		switch {
		case isNotFound(err):
			fam, famRev = &state.Family{Name: td.Family}, 0
		case err != nil:
			return err
		}
		if fam.LastRevision >= tdMaxRevisions {
			return awsproto.Errorf(codeLimitExceeded, "Family %s has reached the limit of %d revisions; register under a new family name.", td.Family, tdMaxRevisions)
		}
		rev := fam.LastRevision + 1
		fam.LastRevision = rev
		fam.ActiveRevision++
		rec = state.TaskDefinition{TaskDefinition: *td, Tags: tags}
		rec.TaskDefinition.Revision = model.Ptr(rev)
		rec.TaskDefinition.TaskDefinitionArn = a.arns.TaskDefinition(td.Family, rev)
		rec.TaskDefinition.RegisteredAt = a.timeNow()
		key := state.TaskDefKey(td.Family, rev)
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: famKey, Revision: famRev}, {Key: key, Revision: 0}},
			Ops:   []store.Op{state.Put(famKey, fam), state.Put(key, rec)},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &model.RegisterTaskDefinitionResponse{TaskDefinition: &rec.TaskDefinition, Tags: rec.Tags}, nil
}

func (a *API) DescribeTaskDefinition(ctx context.Context, in *model.DescribeTaskDefinitionRequest) (*model.DescribeTaskDefinitionResponse, error) {
	if in.TaskDefinition == "" {
		return nil, invalidParam("taskDefinition is required: give a family (its latest ACTIVE revision), family:revision or a task definition ARN.")
	}
	withTags := false
	for _, f := range in.Include {
		if !f.Valid() {
			return nil, invalidParam("Invalid include value %q: the only value is TAGS.", f)
		}
		withTags = true
	}
	rec, err := a.taskDefinition(ctx, in.TaskDefinition, true)
	if err != nil {
		return nil, err
	}
	out := &model.DescribeTaskDefinitionResponse{TaskDefinition: &rec.TaskDefinition}
	if withTags {
		out.Tags = rec.Tags
	}
	return out, nil
}

// tdStatus decodes only what listings need from a stored task definition.
type tdStatus struct {
	TaskDefinition struct {
		Arn    string                     `json:"taskDefinitionArn"`
		Status model.TaskDefinitionStatus `json:"status"`
	} `json:"taskDefinition"`
}

func (a *API) ListTaskDefinitions(ctx context.Context, in *model.ListTaskDefinitionsRequest) (*model.ListTaskDefinitionsResponse, error) {
	if err := tdEnumErr("status", in.Status); err != nil {
		return nil, err
	}
	if err := tdEnumErr("sort", in.Sort); err != nil {
		return nil, err
	}
	limit, err := pageSize(in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	status := in.Status
	if status == "" {
		status = model.TaskDefinitionStatusActive
	}
	// familyPrefix names one whole family in ECS, despite its name: "web"
	// does not list the revisions of "web-2".
	prefix := state.TaskDefsPrefix
	if in.FamilyPrefix != "" {
		if !validName(in.FamilyPrefix) {
			return nil, invalidParam("Invalid familyPrefix %q: a family is up to 255 letters, numbers, underscores and hyphens.", in.FamilyPrefix)
		}
		prefix = state.TaskDefFamilyPrefix(in.FamilyPrefix)
	}
	match := func(kv store.KV) (string, bool, error) {
		var s tdStatus
		if err := json.Unmarshal(kv.Value, &s); err != nil {
			return "", false, err
		}
		return s.TaskDefinition.Arn, s.TaskDefinition.Status == status, nil
	}
	var arns []string
	var next string
	if in.Sort == model.SortOrderDesc {
		arns, next, err = scanDesc(ctx, a.st, prefix, in.NextToken, limit, match)
	} else {
		arns, next, err = scan(ctx, a.st, prefix, in.NextToken, limit, match)
	}
	if err != nil {
		return nil, err
	}
	if arns == nil {
		arns = []string{}
	}
	return &model.ListTaskDefinitionsResponse{TaskDefinitionArns: arns, NextToken: next}, nil
}

// scanDesc is scan in descending key order. The store lists ascending only,
// so each page reads the whole prefix; ECS throttles these listings to 20
// per second, and a prefix of task definitions is small next to that.
func scanDesc[T any](ctx context.Context, st store.Store, prefix, token string, limit int, match func(kv store.KV) (T, bool, error)) ([]T, string, error) {
	before, err := decodeToken(prefix, token)
	if err != nil {
		return nil, "", err
	}
	kvs, _, err := st.List(ctx, prefix, store.ListOptions{})
	if err != nil {
		return nil, "", err
	}
	var out []T
	lastTaken := ""
	for i := len(kvs) - 1; i >= 0; i-- {
		kv := kvs[i]
		if before != "" && kv.Key >= before {
			continue
		}
		v, ok, err := match(kv)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			continue
		}
		if len(out) == limit {
			return out, encodeToken(prefix, lastTaken), nil
		}
		out = append(out, v)
		lastTaken = kv.Key
	}
	return out, "", nil
}

func (a *API) ListTaskDefinitionFamilies(ctx context.Context, in *model.ListTaskDefinitionFamiliesRequest) (*model.ListTaskDefinitionFamiliesResponse, error) {
	if err := tdEnumErr("status", in.Status); err != nil {
		return nil, err
	}
	limit, err := pageSize(in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	if in.FamilyPrefix != "" && !validName(in.FamilyPrefix) {
		return nil, invalidParam("Invalid familyPrefix %q: family names hold only letters, numbers, underscores and hyphens (up to 255).", in.FamilyPrefix)
	}
	// ECS lists ACTIVE and INACTIVE families both when status is omitted.
	status := in.Status
	if status == "" {
		status = model.TaskDefinitionFamilyStatusAll
	}
	families, next, err := scan(ctx, a.st, state.FamiliesPrefix+in.FamilyPrefix, in.NextToken, limit, func(kv store.KV) (string, bool, error) {
		var fam state.Family
		if err := json.Unmarshal(kv.Value, &fam); err != nil {
			return "", false, err
		}
		if fam.ActiveRevision > 0 {
			return fam.Name, status != model.TaskDefinitionFamilyStatusInactive, nil
		}
		if status == model.TaskDefinitionFamilyStatusActive {
			return "", false, nil
		}
		// A family whose revisions have all been deleted keeps its record
		// (revision numbers are never reused) but is no longer listed.
		kvs, _, err := a.st.List(ctx, state.TaskDefFamilyPrefix(fam.Name), store.ListOptions{Limit: 1})
		if err != nil {
			return "", false, err
		}
		return fam.Name, len(kvs) > 0, nil
	})
	if err != nil {
		return nil, err
	}
	if families == nil {
		families = []string{}
	}
	return &model.ListTaskDefinitionFamiliesResponse{Families: families, NextToken: next}, nil
}

// revisionRef parses a reference that must name one revision.
func revisionRef(op, ref string) (family string, rev int32, err error) {
	if ref == "" {
		return "", 0, invalidParam("%s needs a task definition: family:revision or a full task definition ARN.", op)
	}
	family, rev, err = parseTaskDefRef(ref)
	if err != nil {
		return "", 0, err
	}
	if rev == 0 {
		return "", 0, clientErr("%s needs a revision: give %s:REVISION or a full task definition ARN, not the family alone.", op, family)
	}
	return family, rev, nil
}

func (a *API) DeregisterTaskDefinition(ctx context.Context, in *model.DeregisterTaskDefinitionRequest) (*model.DeregisterTaskDefinitionResponse, error) {
	family, rev, err := revisionRef("DeregisterTaskDefinition", in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	key, famKey := state.TaskDefKey(family, rev), state.FamilyKey(family)
	var out *model.TaskDefinition
	err = retry(ctx, func() error {
		rec, recRev, err := state.Get[state.TaskDefinition](ctx, a.st, key)
		if isNotFound(err) {
			return clientErr("The specified task definition does not exist: %s:%d. List the family's revisions with ListTaskDefinitions --family-prefix %s.", family, rev, family)
		}
		if err != nil {
			return err
		}
		out = &rec.TaskDefinition
		switch rec.TaskDefinition.Status {
		case model.TaskDefinitionStatusInactive:
			return nil // already deregistered: answer as ECS would the first time
		case model.TaskDefinitionStatusDeleteInProgress:
			return clientErr("Task definition %s:%d is being deleted and cannot be deregistered.", family, rev)
		}
		fam, famRev, err := state.Get[state.Family](ctx, a.st, famKey)
		if err != nil {
			return err
		}
		if fam.ActiveRevision > 0 {
			fam.ActiveRevision--
		}
		rec.TaskDefinition.Status = model.TaskDefinitionStatusInactive
		rec.TaskDefinition.DeregisteredAt = a.timeNow()
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: key, Revision: recRev}, {Key: famKey, Revision: famRev}},
			Ops:   []store.Op{state.Put(key, rec), state.Put(famKey, fam)},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &model.DeregisterTaskDefinitionResponse{TaskDefinition: out}, nil
}

// ecsMaxStopTimeout is ECS's cap on a container's stopTimeout, in seconds.
const ecsMaxStopTimeout = 120

// checkStopTimeouts refuses a stopTimeout beyond the server's maximum: ECS's
// 120 seconds unless the operator raised it (--max-stop-timeout), for
// workloads that need longer to drain.
func (a *API) checkStopTimeouts(td *model.TaskDefinition) error {
	limit := a.maxStop
	if limit <= 0 {
		limit = ecsMaxStopTimeout
	}
	for _, c := range td.ContainerDefinitions {
		if t := model.Val(c.StopTimeout); t > limit {
			hint := "an operator can allow longer with wharf server --max-stop-timeout"
			if a.maxStop > 0 {
				hint = "this server's --max-stop-timeout"
			}
			return clientErr("Invalid stopTimeout for container '%s': %d seconds is more than the maximum of %d (%s).", c.Name, t, limit, hint)
		}
	}
	return nil
}
