// Package dockertest gives tests the real Docker Engine, or stops them
// plainly when there is none: a test that needs Docker fails under CI=true
// (CI must have it) and is skipped elsewhere.
package dockertest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime/docker"
)

// Require returns a Docker runtime with opts, closed when the test ends, once
// the engine answers and every image named is present (they come from
// scripts/test-images.sh; there is no registry to pull from).
func Require(t testing.TB, opts docker.Options, images ...string) *docker.Runtime {
	t.Helper()
	unavailable := t.Skipf
	if os.Getenv("CI") == "true" {
		unavailable = t.Fatalf
	}
	rt, err := docker.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := rt.Ping(ctx); err != nil {
		unavailable("Docker is not reachable: %v", err)
	}
	for _, img := range images {
		if ok, err := rt.ImageExists(ctx, img); err != nil || !ok {
			unavailable("image %s is missing (%v): run scripts/test-images.sh", img, err)
		}
	}
	return rt
}
