package ecsapi

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Image pre-pull (beyond ECS): an agent started with --prepull-images asks,
// in its poll, for the images of its cluster's active services and pulls
// those it lacks ahead of time, so a service's next task on it starts from
// a warm cache. The list is computed at most every serviceImagesTTL per
// cluster, whatever the number of agents.

const serviceImagesTTL = 5 * time.Second

type imageCache struct {
	mu sync.Mutex
	m  map[string]imageList // cluster → images
}

type imageList struct {
	images []string
	at     time.Time
}

// serviceImages returns the images of the cluster's ACTIVE services' PRIMARY
// and ACTIVE deployments, sorted.
func (a *API) serviceImages(ctx context.Context, cluster string) ([]string, error) {
	now := a.now()
	a.images.mu.Lock()
	if l, ok := a.images.m[cluster]; ok && now.Sub(l.at) < serviceImagesTTL {
		a.images.mu.Unlock()
		return l.images, nil
	}
	a.images.mu.Unlock()
	svcs, _, err := state.List[state.Service](ctx, a.st, state.ClusterServicesPrefix(cluster), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var images []string
	for _, it := range svcs {
		if it.Val.Status != "ACTIVE" {
			continue
		}
		for _, d := range it.Val.Deployments {
			if d.Status != state.DeploymentPrimary && d.Status != "ACTIVE" {
				continue
			}
			rec, err := a.taskDefinition(ctx, d.TaskDefinition, true)
			if err != nil {
				continue // deleted since: nothing to pull
			}
			for _, c := range rec.TaskDefinition.ContainerDefinitions {
				if c.Image != "" && !seen[c.Image] {
					seen[c.Image] = true
					images = append(images, c.Image)
				}
			}
		}
	}
	slices.Sort(images)
	a.images.mu.Lock()
	if a.images.m == nil {
		a.images.m = map[string]imageList{}
	}
	a.images.m[cluster] = imageList{images: images, at: now}
	a.images.mu.Unlock()
	return images, nil
}
