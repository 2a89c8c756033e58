package elbapi

import (
	"context"
	"slices"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// taggable is a stored resource whose tags an operation reads or changes.
type taggable struct {
	key  string
	rev  int64
	val  any
	tags *[]state.ELBTag
}

// resource reads the load balancer, target group, listener or rule an ARN
// names.
func (a *API) resource(ctx context.Context, arn string) (*taggable, error) {
	p, ok := a.arns.parse(arn)
	if !ok {
		return nil, validation("'%s' is not a valid load balancer, target group, listener or rule ARN.", truncate(arn))
	}
	switch p.typ {
	case "loadbalancer":
		lb, rev, err := a.loadBalancer(ctx, arn)
		if err != nil {
			return nil, err
		}
		return &taggable{key: state.LoadBalancerKey(lb.Name), rev: rev, val: lb, tags: &lb.Tags}, nil
	case "targetgroup":
		tg, rev, err := a.targetGroup(ctx, arn)
		if err != nil {
			return nil, err
		}
		return &taggable{key: state.TargetGroupKey(tg.Name), rev: rev, val: tg, tags: &tg.Tags}, nil
	case "listener":
		l, rev, err := a.listener(ctx, arn)
		if err != nil {
			return nil, err
		}
		return &taggable{key: state.ListenerKey(l.LoadBalancerID, l.ID), rev: rev, val: l, tags: &l.Tags}, nil
	}
	_, listenerID, id, _ := a.arns.ruleRef(arn)
	key := state.RuleKey(listenerID, id)
	r, rev, err := state.Get[state.Rule](ctx, a.st, key)
	if err != nil || r.Arn != arn {
		if err == nil || isNotFound(err) {
			return nil, apiErr(codeRuleNotFound, "Rule '%s' not found.", arn)
		}
		return nil, err
	}
	return &taggable{key: key, rev: rev, val: r, tags: &r.Tags}, nil
}

type describeTagsInput struct {
	ResourceArns []string `q:"ResourceArns"`
}

type tagsResult struct {
	TagDescriptions members[xTagDescription]
}

func (a *API) DescribeTags(ctx context.Context, in *describeTagsInput) (any, error) {
	if len(in.ResourceArns) == 0 {
		return nil, validation("ResourceArns is required: give 1 to 20 ARNs.")
	}
	if len(in.ResourceArns) > 20 {
		return nil, validation("At most 20 resources can be described at once.")
	}
	out := &tagsResult{TagDescriptions: members[xTagDescription]{}}
	for _, arn := range in.ResourceArns {
		r, err := a.resource(ctx, arn)
		if err != nil {
			return nil, err
		}
		out.TagDescriptions = append(out.TagDescriptions, xTagDescription{ResourceArn: arn, Tags: tagShapes(*r.tags)})
	}
	return out, nil
}

type addTagsInput struct {
	ResourceArns []string `q:"ResourceArns"`
	Tags         []tagIn  `q:"Tags"`
}

func (a *API) AddTags(ctx context.Context, in *addTagsInput) (any, error) {
	if len(in.Tags) == 0 {
		return nil, validation("Tags is required: give at least one tag.")
	}
	tags, err := validTags(in.Tags)
	if err != nil {
		return nil, err
	}
	return nil, a.retag(ctx, in.ResourceArns, func(cur []state.ELBTag) ([]state.ELBTag, error) {
		next := mergeTags(cur, tags)
		if len(next) > maxTags {
			return nil, apiErr(codeTooManyTags, "A resource can have at most %d tags; it would have %d.", maxTags, len(next))
		}
		return next, nil
	})
}

type removeTagsInput struct {
	ResourceArns []string `q:"ResourceArns"`
	TagKeys      []string `q:"TagKeys"`
}

func (a *API) RemoveTags(ctx context.Context, in *removeTagsInput) (any, error) {
	if len(in.TagKeys) == 0 {
		return nil, validation("TagKeys is required: give at least one tag key.")
	}
	return nil, a.retag(ctx, in.ResourceArns, func(cur []state.ELBTag) ([]state.ELBTag, error) {
		return slices.DeleteFunc(slices.Clone(cur), func(t state.ELBTag) bool { return slices.Contains(in.TagKeys, t.Key) }), nil
	})
}

// retag changes the tags of every resource named, in one transaction.
func (a *API) retag(ctx context.Context, arns []string, change func([]state.ELBTag) ([]state.ELBTag, error)) error {
	if len(arns) == 0 {
		return validation("ResourceArns is required: give 1 to 20 ARNs.")
	}
	if len(arns) > 20 {
		return validation("At most 20 resources can be tagged at once.")
	}
	return retry(ctx, func() error {
		var txn store.Txn
		seen := map[string]bool{}
		for _, arn := range arns {
			r, err := a.resource(ctx, arn)
			if err != nil {
				return err
			}
			if seen[r.key] {
				continue
			}
			seen[r.key] = true
			next, err := change(*r.tags)
			if err != nil {
				return err
			}
			*r.tags = next
			txn.Conds = append(txn.Conds, store.Cond{Key: r.key, Revision: r.rev})
			txn.Ops = append(txn.Ops, state.Put(r.key, r.val))
		}
		_, err := a.st.Commit(ctx, txn)
		return err
	})
}
