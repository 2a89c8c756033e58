package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// memCgroup is a memory cgroup holding one process, so that a benchmark can
// hold a server to a memory limit the kernel enforces: anonymous memory and
// the page cache of its files together, the cache reclaimed as the limit
// nears and the process killed if what it cannot give back exceeds it.
type memCgroup struct {
	dir string
	v2  bool
}

// newMemCgroup makes a cgroup limited to limit bytes and moves pid into it.
// It needs root and a writable cgroup file system, v1's memory controller
// or v2 with memory enabled.
func newMemCgroup(pid int, limit int64) (*memCgroup, error) {
	name := fmt.Sprintf("wharf-bench-%d", pid)
	c := &memCgroup{}
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(b), "memory") {
		c.dir, c.v2 = filepath.Join("/sys/fs/cgroup", name), true
	} else if st, err := os.Stat("/sys/fs/cgroup/memory"); err == nil && st.IsDir() {
		c.dir = filepath.Join("/sys/fs/cgroup/memory", name)
	} else {
		return nil, errors.New("no memory cgroup controller at /sys/fs/cgroup")
	}
	if err := os.Mkdir(c.dir, 0o755); err != nil {
		return nil, err
	}
	limitFile := "memory.limit_in_bytes"
	if c.v2 {
		limitFile = "memory.max"
	}
	if err := c.write(limitFile, strconv.FormatInt(limit, 10)); err != nil {
		c.remove()
		return nil, err
	}
	if err := c.write("cgroup.procs", strconv.Itoa(pid)); err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

func (c *memCgroup) write(file, value string) error {
	return os.WriteFile(filepath.Join(c.dir, file), []byte(value), 0o644)
}

func (c *memCgroup) readInt(file string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, file))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// peak is the most memory the cgroup was charged with: anonymous memory and
// page cache.
func (c *memCgroup) peak() (int64, error) {
	if c.v2 {
		return c.readInt("memory.peak")
	}
	return c.readInt("memory.max_usage_in_bytes")
}

// usage is what the cgroup is charged with now.
func (c *memCgroup) usage() (int64, error) {
	if c.v2 {
		return c.readInt("memory.current")
	}
	return c.readInt("memory.usage_in_bytes")
}

// oomKills counts the processes the kernel killed for going over the limit.
func (c *memCgroup) oomKills() (int64, error) {
	file := "memory.oom_control"
	if c.v2 {
		file = "memory.events"
	}
	f, err := os.Open(filepath.Join(c.dir, file))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "oom_kill "); ok {
			return strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
		}
	}
	return 0, fmt.Errorf("no oom_kill count in %s", file)
}

// remove deletes the cgroup once its process has exited.
func (c *memCgroup) remove() { _ = os.Remove(c.dir) }

// lowCPUPriority moves pid into a cgroup of its own whose CPU weight is a
// sixteenth of the default: it runs on whatever the others leave idle. The
// benchmarks give it to the simulator, which stands for thousands of other
// machines, so that the server on the same two cores is not starved by them.
// It returns a function that removes the cgroup once pid has exited.
func lowCPUPriority(pid int) (func(), error) {
	name := fmt.Sprintf("wharf-bench-%d", pid)
	var dir, file, value string
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(string(b), "cpu") {
		dir, file, value = filepath.Join("/sys/fs/cgroup", name), "cpu.weight", "6" // default 100
	} else if st, err := os.Stat("/sys/fs/cgroup/cpu"); err == nil && st.IsDir() {
		dir, file, value = filepath.Join("/sys/fs/cgroup/cpu", name), "cpu.shares", "64" // default 1024
	} else {
		return nil, errors.New("no cpu cgroup controller at /sys/fs/cgroup")
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	remove := func() { _ = os.Remove(dir) }
	for _, w := range [][2]string{{file, value}, {"cgroup.procs", strconv.Itoa(pid)}} {
		if err := os.WriteFile(filepath.Join(dir, w[0]), []byte(w[1]), 0o644); err != nil {
			remove()
			return nil, err
		}
	}
	return remove, nil
}
