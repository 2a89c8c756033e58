package ecstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/wharf once per test binary and returns its path, for
// tests that run wharf as real processes.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wharf-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "wharf")
		if out, err := exec.Command("go", "build", "-o", binPath, "github.com/wharf-ecs/wharf/cmd/wharf").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}
