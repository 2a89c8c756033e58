package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// The images scripts/test-images.sh builds.
const (
	testappImage = "wharf-testapp:latest"
	busyboxImage = "busybox:latest"
)

// runLabel marks every container of one test run, so cleanup and List
// assertions never touch containers of other runs or other people.
const runLabel = "org.wharf-ecs.test-run"

var (
	runID   = randomID()
	counter atomic.Int64
)

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRuntime returns a Runtime on the local daemon with the test images
// present. Without them it fails under CI=true, where a skipped runtime
// test would hide a broken setup, and skips elsewhere.
func newRuntime(t *testing.T) *Runtime {
	t.Helper()
	unavailable := t.Skipf
	if os.Getenv("CI") == "true" {
		unavailable = t.Fatalf
	}
	r, err := New(Options{PullStallTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.Ping(ctx); err != nil {
		unavailable("Docker is not reachable: %v", err)
	}
	for _, img := range []string{testappImage, busyboxImage} {
		ok, err := r.ImageExists(ctx, img)
		if err != nil {
			t.Fatalf("ImageExists(%s): %v", img, err)
		}
		if !ok {
			unavailable("image %s is missing: run scripts/test-images.sh", img)
		}
	}
	return r
}

// testCtx is a context that ends with the test (or after a minute, so a
// hung daemon call fails the test instead of the whole run).
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// create makes a container from spec with a unique name and the run label,
// and removes it when the test ends.
func create(t *testing.T, r *Runtime, spec runtime.ContainerSpec) string {
	t.Helper()
	spec.Name = uniqueName(t)
	spec.Labels = withRunLabel(spec.Labels)
	id, err := r.Create(testCtx(t), spec)
	if err != nil {
		t.Fatalf("Create(%s): %v", spec.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Remove(ctx, id); err != nil && !isNotFound(err) {
			t.Errorf("cleanup: Remove(%s): %v", spec.Name, err)
		}
	})
	return id
}

func uniqueName(t *testing.T) string {
	base := strings.NewReplacer("/", "-", " ", "-").Replace(strings.ToLower(t.Name()))
	return fmt.Sprintf("wharf-rttest-%s-%d-%s", runID, counter.Add(1), base)
}

func withRunLabel(labels map[string]string) map[string]string {
	out := map[string]string{runLabel: runID}
	maps.Copy(out, labels)
	return out
}

// startTestapp creates and starts wharf-testapp with a dynamic host port for
// 8080, waits until it answers /health, and returns its id and base URL.
func startTestapp(t *testing.T, r *Runtime, spec runtime.ContainerSpec) (id, url string) {
	t.Helper()
	ctx := testCtx(t)
	spec.Image = testappImage
	spec.PortMappings = []runtime.PortMapping{{ContainerPort: 8080}}
	id = create(t, r, spec)
	if err := r.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	st, err := r.Inspect(ctx, id)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if len(st.Ports) != 1 || st.Ports[0].ContainerPort != 8080 || st.Ports[0].HostPort == 0 || st.Ports[0].Protocol != "tcp" {
		t.Fatalf("Inspect(started testapp).Ports = %+v; want one tcp binding of 8080 to a dynamic host port", st.Ports)
	}
	url = fmt.Sprintf("http://127.0.0.1:%d", st.Ports[0].HostPort)
	// Until the server listens, the connection is refused (or reset by the
	// proxy); the test container may need a moment to start.
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _, err := get(url + "/health")
		if err == nil && code == http.StatusOK {
			return id, url
		}
		if time.Now().After(deadline) {
			t.Fatalf("testapp at %s never became ready: %d %v", url, code, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(url string) (int, string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// watchUntil watches the containers carrying labels from since on and
// returns the events seen up to and including the first one for which
// done is true. It fails the test if that takes longer than timeout.
func watchUntil(t *testing.T, r *Runtime, since time.Time, labels map[string]string, timeout time.Duration, done func(runtime.Event) bool) []runtime.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var seen []runtime.Event
	err := r.Watch(ctx, since, withRunLabel(labels), func(ev runtime.Event) {
		seen = append(seen, ev)
		if done(ev) {
			cancel()
		}
	})
	if n := len(seen); n > 0 && done(seen[n-1]) {
		return seen
	}
	t.Fatalf("Watch: no awaited event within %s (error %v); saw %+v", timeout, err, seen)
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, runtime.ErrNotFound) }
