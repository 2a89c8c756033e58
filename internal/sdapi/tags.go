package sdapi

import (
	"context"
	"slices"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Tags of namespaces and services, addressed by ARN.

// tagged reads, changes (when fn is not nil) and writes the tags of the
// namespace or service an ARN names.
func (a *API) tagged(ctx context.Context, arn string, fn func([]state.CloudMapTag) ([]state.CloudMapTag, error)) ([]state.CloudMapTag, error) {
	notFound := awsproto.Errorf(codeResourceNotFound, "Resource %s not found: give the ARN of a namespace or service, as GetNamespace or GetService returns it.", arn)
	switch {
	case strings.HasPrefix(arn, a.arn("namespace/")):
		key := state.CloudMapNamespaceKey(a.idFromRef(arn, "namespace"))
		return retag(ctx, a.st, key, notFound, func(n *state.CloudMapNamespace) *[]state.CloudMapTag { return &n.Tags }, fn)
	case strings.HasPrefix(arn, a.arn("service/")):
		key := state.CloudMapServiceKey(a.idFromRef(arn, "service"))
		return retag(ctx, a.st, key, notFound, func(s *state.CloudMapService) *[]state.CloudMapTag { return &s.Tags }, fn)
	}
	return nil, notFound
}

func retag[T any](ctx context.Context, st store.Store, key string, notFound error, tagsOf func(*T) *[]state.CloudMapTag, fn func([]state.CloudMapTag) ([]state.CloudMapTag, error)) ([]state.CloudMapTag, error) {
	var out []state.CloudMapTag
	err := retry(ctx, func() error {
		doc, rev, err := state.Get[T](ctx, st, key)
		if isNotFound(err) {
			return notFound
		}
		if err != nil {
			return err
		}
		tags := tagsOf(doc)
		out = *tags
		if fn == nil {
			return nil
		}
		if out, err = fn(slices.Clone(*tags)); err != nil {
			return err
		}
		*tags = out
		_, err = st.Commit(ctx, store.Txn{Conds: []store.Cond{{Key: key, Revision: rev}}, Ops: []store.Op{state.Put(key, doc)}})
		return err
	})
	return out, err
}

func (a *API) TagResource(ctx context.Context, in *tagResourceInput) (*empty, error) {
	add, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	_, err = a.tagged(ctx, in.ResourceARN, func(tags []state.CloudMapTag) ([]state.CloudMapTag, error) {
		for _, t := range add {
			i := slices.IndexFunc(tags, func(x state.CloudMapTag) bool { return x.Key == t.Key })
			if i >= 0 {
				tags[i] = t
			} else {
				tags = append(tags, t)
			}
		}
		if len(tags) > maxTags {
			return nil, awsproto.Errorf(codeTooManyTags, "A resource may have at most %d tags; this would make %d.", maxTags, len(tags))
		}
		return tags, nil
	})
	if err != nil {
		return nil, err
	}
	return &empty{}, nil
}

func (a *API) UntagResource(ctx context.Context, in *tagResourceInput) (*empty, error) {
	_, err := a.tagged(ctx, in.ResourceARN, func(tags []state.CloudMapTag) ([]state.CloudMapTag, error) {
		return slices.DeleteFunc(tags, func(t state.CloudMapTag) bool { return slices.Contains(in.TagKeys, t.Key) }), nil
	})
	if err != nil {
		return nil, err
	}
	return &empty{}, nil
}

func (a *API) ListTagsForResource(ctx context.Context, in *tagResourceInput) (*listTagsOutput, error) {
	tags, err := a.tagged(ctx, in.ResourceARN, nil)
	if err != nil {
		return nil, err
	}
	out := &listTagsOutput{Tags: make([]tag, 0, len(tags))}
	for _, t := range tags {
		out.Tags = append(out.Tags, tag{Key: model.Ptr(t.Key), Value: model.Ptr(t.Value)})
	}
	return out, nil
}
