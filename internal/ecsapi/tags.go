package ecsapi

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

func (a *API) registerTags(s *awsproto.Service) {
	awsproto.Handle(s, "TagResource", a.TagResource)
	awsproto.Handle(s, "UntagResource", a.UntagResource)
	awsproto.Handle(s, "ListTagsForResource", a.ListTagsForResource)
}

// tagged is one taggable document as read from the store: the revision it was
// read at (the condition of writing it back), its tags, and how to write it
// back with other tags.
type tagged struct {
	key  string
	rev  int64
	tags []model.Tag
	put  func(tags []model.Tag) store.Op
	// stopped is set for a STOPPED task: ECS drops its tags and takes no new ones.
	stopped bool
}

const taggableTypes = "clusters, tasks, task definitions, container instances, services, capacity providers and task sets"

func invalidARN(arn, why string) error {
	return invalidParam("The ARN provided is invalid: %q %s.", arn, why)
}

// findTagged resolves a resource ARN to the document that holds its tags.
// Malformed ARNs answer InvalidParameterException. Unknown clusters answer
// ClusterNotFoundException, as the other cluster operations do, and deleted
// (INACTIVE) ones ECS's "cluster is inactive" InvalidParameterException, which
// clients such as Terraform recognise. Other unknown resources answer
// InvalidParameterException (ClientException for task definitions, as
// DescribeTaskDefinition does).
func (a *API) findTagged(ctx context.Context, arn string) (*tagged, error) {
	if arn == "" {
		return nil, invalidParam("resourceArn is required: give the ARN of one of the %s.", taggableTypes)
	}
	p, err := ParseARN(arn)
	if err != nil {
		return nil, invalidARN(arn, "is not an ECS resource ARN (arn:aws:ecs:REGION:ACCOUNT:TYPE/ID)")
	}
	if p.Region != a.arns.Region || p.Account != a.arns.Account {
		return nil, invalidParam("The ARN %q names region %q and account %q, but this endpoint serves region %s, account %s.", arn, p.Region, p.Account, a.arns.Region, a.arns.Account)
	}
	switch p.Type {
	case "cluster":
		if len(p.Parts) != 1 || !validName(p.Parts[0]) {
			return nil, invalidARN(arn, "is not a cluster ARN (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)")
		}
		key := state.ClusterKey(p.Parts[0])
		c, rev, err := a.taggableCluster(ctx, p.Parts[0])
		if err != nil {
			return nil, err
		}
		return &tagged{key: key, rev: rev, tags: c.Tags, put: func(t []model.Tag) store.Op {
			c.Tags = t
			return state.Put(key, c)
		}}, nil
	case "task-definition":
		family, rev, ok := taskDefARNParts(p)
		if !ok {
			return nil, invalidARN(arn, "is not a task definition ARN: tags belong to one revision, arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION")
		}
		key := state.TaskDefKey(family, rev)
		td, trev, err := state.Get[state.TaskDefinition](ctx, a.st, key)
		if isNotFound(err) || err == nil && td.TaskDefinition.Status == model.TaskDefinitionStatusDeleteInProgress {
			return nil, clientErr("Task definition %s:%d does not exist. List revisions with ListTaskDefinitions --family-prefix %s.", family, rev, family)
		}
		if err != nil {
			return nil, err
		}
		return &tagged{key: key, rev: trev, tags: td.Tags, put: func(t []model.Tag) store.Op {
			td.Tags = t
			return state.Put(key, td)
		}}, nil
	case "task":
		cluster, id, err := a.clusterScopedRef(ctx, arn, p, "task")
		if err != nil {
			return nil, err
		}
		key := state.TaskKey(cluster, id)
		t, rev, err := state.Get[state.Task](ctx, a.st, key)
		if isNotFound(err) {
			return nil, invalidParam("The specified task does not exist: no task %s in cluster %s. List tasks with ListTasks --cluster %s.", id, cluster, cluster)
		}
		if err != nil {
			return nil, err
		}
		return &tagged{key: key, rev: rev, tags: t.Tags, stopped: t.LastStatus == "STOPPED", put: func(tags []model.Tag) store.Op {
			t.Tags = tags
			return state.Put(key, t)
		}}, nil
	case "container-instance":
		cluster, id, err := a.clusterScopedRef(ctx, arn, p, "container-instance")
		if err != nil {
			return nil, err
		}
		key := state.InstanceKey(cluster, id)
		ci, rev, err := state.Get[state.ContainerInstance](ctx, a.st, key)
		if isNotFound(err) {
			return nil, invalidParam("The specified container instance does not exist: no instance %s in cluster %s. List them with ListContainerInstances --cluster %s.", id, cluster, cluster)
		}
		if err != nil {
			return nil, err
		}
		return &tagged{key: key, rev: rev, tags: ci.Tags, put: func(tags []model.Tag) store.Op {
			ci.Tags = tags
			return state.Put(key, ci)
		}}, nil
	case "service":
		cluster, name, err := a.clusterScopedRef(ctx, arn, p, "service")
		if err != nil {
			return nil, err
		}
		return a.taggedService(ctx, cluster, name)
	case "capacity-provider":
		if len(p.Parts) != 1 || !validName(p.Parts[0]) {
			return nil, invalidARN(arn, "is not a capacity provider ARN (arn:aws:ecs:REGION:ACCOUNT:capacity-provider/NAME)")
		}
		name := p.Parts[0]
		if isFargateProvider(name) {
			return nil, invalidParam("The %s capacity provider is reserved by ECS and cannot be tagged.", name)
		}
		key := state.CapacityProviderKey(name)
		cp, rev, err := state.Get[state.CapacityProvider](ctx, a.st, key)
		if isNotFound(err) || err == nil && cp.Status == model.CapacityProviderStatusInactive {
			return nil, providerNotFound(name)
		}
		if err != nil {
			return nil, err
		}
		return &tagged{key: key, rev: rev, tags: cp.Tags, put: func(t []model.Tag) store.Op {
			cp.Tags = t
			return state.Put(key, cp)
		}}, nil
	case "task-set":
		return nil, invalidParam("The specified task set does not exist: %s.", arn)
	}
	return nil, invalidARN(arn, "names a resource type ("+p.Type+") that cannot be tagged; ECS tags "+taggableTypes)
}

// taskDefARNParts splits the FAMILY:REVISION of a parsed task definition ARN.
func taskDefARNParts(p ParsedARN) (family string, rev int32, ok bool) {
	if len(p.Parts) != 1 {
		return "", 0, false
	}
	family, revStr, found := strings.Cut(p.Parts[0], ":")
	n, err := strconv.ParseInt(revStr, 10, 32)
	if !found || !validName(family) || err != nil || n < 1 {
		return "", 0, false
	}
	return family, int32(n), true
}

// taggableCluster reads a cluster for a tag operation: missing is
// ClusterNotFoundException, INACTIVE is ECS's "cluster is inactive" error.
func (a *API) taggableCluster(ctx context.Context, name string) (*state.Cluster, int64, error) {
	c, rev, err := state.Get[state.Cluster](ctx, a.st, state.ClusterKey(name))
	if isNotFound(err) {
		return nil, 0, clusterNotFound(name)
	}
	if err != nil {
		return nil, 0, err
	}
	if c.Status == clusterInactive {
		return nil, 0, invalidParam("The specified cluster is inactive. Specify an active cluster and try again. (Cluster %s was deleted; its resources can no longer be tagged.)", name)
	}
	return c, rev, nil
}

// clusterScopedRef checks the long ARN form TYPE/CLUSTER/ID of tasks,
// container instances and services, and that the cluster can be tagged in.
func (a *API) clusterScopedRef(ctx context.Context, arn string, p ParsedARN, typ string) (cluster, id string, err error) {
	if len(p.Parts) == 1 {
		return "", "", invalidParam("Long arn format must be used for tagging operations: %q has the short form; use arn:aws:ecs:REGION:ACCOUNT:%s/CLUSTER/ID.", arn, typ)
	}
	if len(p.Parts) != 2 || !validName(p.Parts[0]) || !validName(p.Parts[1]) {
		return "", "", invalidARN(arn, "is not a "+typ+" ARN (arn:aws:ecs:REGION:ACCOUNT:"+typ+"/CLUSTER/ID)")
	}
	if _, _, err := a.taggableCluster(ctx, p.Parts[0]); err != nil {
		return "", "", err
	}
	return p.Parts[0], p.Parts[1], nil
}

const maxTagsPerResource = 50

func (a *API) TagResource(ctx context.Context, in *model.TagResourceRequest) (*model.TagResourceResponse, error) {
	if in.Tags == nil {
		return nil, invalidParam("tags is required: give the tags to add, e.g. [{\"key\":\"team\",\"value\":\"web\"}].")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	err := retry(ctx, func() error {
		t, err := a.findTagged(ctx, in.ResourceArn)
		if err != nil {
			return err
		}
		if t.stopped {
			return invalidParam("The specified task is stopped. Specify a running task and try again. (A stopped task's tags are removed with it.)")
		}
		merged := mergeTags(t.tags, in.Tags)
		if len(merged) > maxTagsPerResource {
			return awsproto.Errorf(codeLimitExceeded, "The resource would have %d tags: at most %d are allowed per resource. It has %d; remove some with UntagResource first.", len(merged), maxTagsPerResource, len(t.tags))
		}
		if slices.Equal(merged, t.tags) {
			return nil
		}
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: t.key, Revision: t.rev}},
			Ops:   []store.Op{t.put(merged)},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &model.TagResourceResponse{}, nil
}

func (a *API) UntagResource(ctx context.Context, in *model.UntagResourceRequest) (*model.UntagResourceResponse, error) {
	if in.TagKeys == nil {
		return nil, invalidParam("tagKeys is required: give the keys of the tags to remove.")
	}
	for _, k := range in.TagKeys {
		if k == "" || utf8.RuneCountInString(k) > 128 {
			return nil, invalidParam("Tag keys must be 1 to 128 characters; got %q.", k)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, invalidParam("Tag key %q uses the reserved prefix aws:; such tags cannot be removed.", k)
		}
	}
	err := retry(ctx, func() error {
		t, err := a.findTagged(ctx, in.ResourceArn)
		if err != nil {
			return err
		}
		kept := removeTags(t.tags, in.TagKeys)
		if len(kept) == len(t.tags) {
			return nil // removing keys the resource does not have is not an error
		}
		_, err = a.st.Commit(ctx, store.Txn{
			Conds: []store.Cond{{Key: t.key, Revision: t.rev}},
			Ops:   []store.Op{t.put(kept)},
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &model.UntagResourceResponse{}, nil
}

func (a *API) ListTagsForResource(ctx context.Context, in *model.ListTagsForResourceRequest) (*model.ListTagsForResourceResponse, error) {
	t, err := a.findTagged(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	tags := t.tags
	if tags == nil {
		tags = []model.Tag{}
	}
	return &model.ListTagsForResourceResponse{Tags: tags}, nil
}
