package docker

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// TestPauseProgramBlocks runs the generated program on this host (amd64):
// it must start and still run a moment later, then die to SIGKILL.
func TestPauseProgramBlocks(t *testing.T) {
	if goruntime.GOARCH != "amd64" && goruntime.GOARCH != "arm64" {
		t.Skip("the pause program exists for amd64 and arm64 only")
	}
	prog, err := pauseProgram(goruntime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(path, prog, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the pause program: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("the pause program exited at once: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	_ = cmd.Process.Kill()
	<-done
	if _, err := pauseProgram("s390x"); err == nil {
		t.Error("pauseProgram(s390x) gave a program")
	}
}

// TestTaskNetworks: two pause containers on one network get distinct
// addresses and MACs; ensuring again finds the same container; removing it
// twice is fine.
func TestTaskNetworks(t *testing.T) {
	r := newRuntime(t)
	ctx := context.Background()
	net := "wharf-test-subnet-" + time.Now().Format("150405.000")
	t.Cleanup(func() { _ = r.cli.NetworkRemove(context.Background(), net) })
	var got []runtime.TaskNetwork
	for _, name := range []string{net + "-a", net + "-b"} {
		n, err := r.EnsureTaskNetwork(ctx, runtime.TaskNetworkSpec{Name: name, Network: net, Labels: map[string]string{"test": "tasknet"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.RemoveTaskNetwork(context.Background(), name) })
		got = append(got, n)
	}
	if got[0].IPv4 == "" || got[0].IPv4 == got[1].IPv4 || got[0].MACAddress == got[1].MACAddress || got[0].MACAddress == "" {
		t.Fatalf("task networks = %+v", got)
	}
	again, err := r.EnsureTaskNetwork(ctx, runtime.TaskNetworkSpec{Name: net + "-a", Network: net})
	if err != nil || again.ID != got[0].ID || again.IPv4 != got[0].IPv4 {
		t.Fatalf("ensure again = %+v, %v; want %+v", again, err, got[0])
	}
	for range 2 {
		if err := r.RemoveTaskNetwork(ctx, net+"-a"); err != nil {
			t.Fatal(err)
		}
	}
}
