// Package state gives typed access to the documents Wharf keeps in the store:
// the key layout, JSON encoding, and the records that wrap the ECS shapes with
// what Wharf needs beside them.
package state

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/wharf-ecs/wharf/internal/store"
)

// Key prefixes. Every resource is one JSON document under one key.
const (
	ClustersPrefix        = "clusters/"
	FamiliesPrefix        = "families/"
	TaskDefsPrefix        = "taskdefs/"
	TasksPrefix           = "tasks/"
	InstancesPrefix       = "instances/"
	ServicesPrefix        = "services/"
	AccountSettingsPrefix = "accountsettings/"
	IdempotencyPrefix     = "idempotency/"
)

// ClusterKey is the key of a cluster by name.
func ClusterKey(name string) string { return ClustersPrefix + name }

// FamilyKey is the key of a task definition family's record.
func FamilyKey(family string) string { return FamiliesPrefix + family }

// TaskDefFamilyPrefix is the prefix of one family's revisions. The separator
// '!' sorts below every character a family name may hold ([A-Za-z0-9_-]), so
// a prefix scan of TaskDefsPrefix yields families in name order ("web" before
// "web-2") and each family's revisions in number order.
func TaskDefFamilyPrefix(family string) string { return TaskDefsPrefix + family + "!" }

// TaskDefKey is the key of one task definition revision.
func TaskDefKey(family string, rev int32) string {
	return TaskDefFamilyPrefix(family) + fmt.Sprintf("%010d", rev)
}

// ParseTaskDefKey splits a task definition key into family and revision.
func ParseTaskDefKey(key string) (family string, rev int32, ok bool) {
	rest := key[len(TaskDefsPrefix):]
	for i := len(rest) - 1; i >= 0; i-- {
		if rest[i] == '!' {
			n, err := strconv.ParseInt(rest[i+1:], 10, 32)
			if err != nil {
				return "", 0, false
			}
			return rest[:i], int32(n), true
		}
	}
	return "", 0, false
}

// ClusterTasksPrefix is the prefix of a cluster's tasks.
func ClusterTasksPrefix(cluster string) string { return TasksPrefix + cluster + "/" }

// TaskKey is the key of a task by cluster and task ID.
func TaskKey(cluster, id string) string { return ClusterTasksPrefix(cluster) + id }

// ClusterInstancesPrefix is the prefix of a cluster's container instances.
func ClusterInstancesPrefix(cluster string) string { return InstancesPrefix + cluster + "/" }

// InstanceKey is the key of a container instance by cluster and instance ID.
func InstanceKey(cluster, id string) string { return ClusterInstancesPrefix(cluster) + id }

// ClusterServicesPrefix is the prefix of a cluster's services.
func ClusterServicesPrefix(cluster string) string { return ServicesPrefix + cluster + "/" }

// ServiceKey is the key of a service by cluster and name.
func ServiceKey(cluster, name string) string { return ClusterServicesPrefix(cluster) + name }

// Get reads and decodes the document under key. It returns store.ErrNotFound
// for a missing key.
func Get[T any](ctx context.Context, st store.Store, key string) (*T, int64, error) {
	kv, err := st.Get(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	v := new(T)
	if err := json.Unmarshal(kv.Value, v); err != nil {
		return nil, 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, kv.Revision, nil
}

// Item is one decoded document with its key and modification revision.
type Item[T any] struct {
	Key string
	Rev int64
	Val *T
}

// List reads and decodes every document under prefix.
func List[T any](ctx context.Context, st store.Store, prefix string, opts store.ListOptions) ([]Item[T], int64, error) {
	kvs, rev, err := st.List(ctx, prefix, opts)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Item[T], 0, len(kvs))
	for _, kv := range kvs {
		v := new(T)
		if err := json.Unmarshal(kv.Value, v); err != nil {
			return nil, 0, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out = append(out, Item[T]{Key: kv.Key, Rev: kv.Revision, Val: v})
	}
	return out, rev, nil
}

// Put returns a store op that writes v as JSON under key.
func Put(key string, v any) store.Op {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("state.Put %s: %v", key, err)) // records always marshal
	}
	return store.Op{Key: key, Value: b}
}

// Delete returns a store op that deletes key.
func Delete(key string) store.Op { return store.Op{Key: key, Delete: true} }
