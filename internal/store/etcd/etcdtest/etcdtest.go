// Package etcdtest starts real etcd processes for tests: Debian's etcd
// binary (package etcd-server) on free loopback ports, with data in a
// temporary directory, stopped when the test ends.
//
// A missing binary fails the test under CI=true and skips it elsewhere.
package etcdtest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Flags beyond addresses that every member gets: the limits docs/ha.md
// recommends (the scheduler commits many tasks in one transaction), and
// quiet logs.
var Flags = []string{
	"--max-txn-ops=4096",
	"--max-request-bytes=8388608",
	"--logger=zap",
	"--log-level=error",
}

// readyLimit is how long a member may take to answer healthy.
const readyLimit = 30 * time.Second

// Cluster is a running etcd cluster of one or more members.
type Cluster struct {
	tb      testing.TB
	bin     string
	members []*Member
}

// Member is one etcd process.
type Member struct {
	Name      string
	ClientURL string
	PeerURL   string
	dir       string
	args      []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{} // closed when cmd has been waited for
}

// Binary returns the etcd binary's path, failing the test under CI=true
// and skipping it elsewhere when there is none.
func Binary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("etcd binary not found (%v): install Debian's etcd-server package (scripts/test.sh does)", err)
		}
		tb.Skipf("etcd binary not found (%v); apt-get install etcd-server to run this test", err)
	}
	return bin
}

// Start starts a one-member cluster and returns its client URL.
func Start(tb testing.TB) string {
	tb.Helper()
	return StartCluster(tb, 1).Endpoints()[0]
}

// StartCluster starts an n-member cluster and waits until every member is
// healthy. The members are killed and their data removed when the test
// ends.
func StartCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	// Data on tmpfs when there is one: every etcd write is an fsync, and
	// tests care about behaviour, not about the disk.
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "etcdtest-"); err == nil {
			base = d
			tb.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	return startIn(tb, n, base)
}

// StartClusterOnDisk is StartCluster with the data in the test's temporary
// directory, for benchmarks that compare with bbolt's fsyncs on that disk.
func StartClusterOnDisk(tb testing.TB, n int) *Cluster {
	tb.Helper()
	return startIn(tb, n, "")
}

// startIn starts n members with their data under base ("" means a
// temporary directory of the test).
func startIn(tb testing.TB, n int, base string) *Cluster {
	tb.Helper()
	c := &Cluster{tb: tb, bin: Binary(tb)}
	if base == "" {
		base = tb.TempDir()
	}
	var initial []string
	for i := range n {
		m := &Member{
			Name:      fmt.Sprintf("m%d", i),
			ClientURL: "http://" + freeAddr(tb),
			PeerURL:   "http://" + freeAddr(tb),
			dir:       filepath.Join(base, fmt.Sprintf("m%d", i)),
		}
		c.members = append(c.members, m)
		initial = append(initial, m.Name+"="+m.PeerURL)
	}
	token := fmt.Sprintf("etcdtest-%d", time.Now().UnixNano())
	for _, m := range c.members {
		m.args = append([]string{
			"--name=" + m.Name,
			"--data-dir=" + filepath.Join(m.dir, "data"),
			"--listen-client-urls=" + m.ClientURL,
			"--advertise-client-urls=" + m.ClientURL,
			"--listen-peer-urls=" + m.PeerURL,
			"--initial-advertise-peer-urls=" + m.PeerURL,
			"--initial-cluster=" + strings.Join(initial, ","),
			"--initial-cluster-state=new",
			"--initial-cluster-token=" + token,
		}, Flags...)
		if err := os.MkdirAll(m.dir, 0o700); err != nil {
			tb.Fatal(err)
		}
		if err := c.start(m); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() {
		for _, m := range c.members {
			m.Kill()
		}
	})
	for _, m := range c.members {
		c.waitHealthy(m)
	}
	return c
}

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.ClientURL)
	}
	return eps
}

// Member returns member i.
func (c *Cluster) Member(i int) *Member { return c.members[i] }

// Restart starts a killed member again on its data and waits until it is
// healthy. It returns an error rather than failing the test, so that a
// fault-injecting goroutine may call it.
func (c *Cluster) Restart(m *Member) error {
	if err := c.start(m); err != nil {
		return err
	}
	return c.healthy(m)
}

func (c *Cluster) start(m *Member) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return fmt.Errorf("etcd member %s is already running", m.Name)
	}
	logf, err := os.OpenFile(filepath.Join(m.dir, "etcd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin, m.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start etcd member %s: %w", m.Name, err)
	}
	exit := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exit)
	}()
	m.cmd, m.exit = cmd, exit
	return nil
}

func (c *Cluster) waitHealthy(m *Member) {
	c.tb.Helper()
	if err := c.healthy(m); err != nil {
		c.tb.Fatal(err)
	}
}

// healthy polls the member's /health until it reports a leader.
func (c *Cluster) healthy(m *Member) error {
	deadline := time.Now().Add(readyLimit)
	client := &http.Client{Timeout: time.Second}
	for {
		m.mu.Lock()
		exit := m.exit
		m.mu.Unlock()
		select {
		case <-exit:
			return fmt.Errorf("etcd member %s exited at start-up:\n%s", m.Name, m.Log())
		default:
		}
		if resp, err := client.Get(m.ClientURL + "/health"); err == nil {
			ok := resp.StatusCode == http.StatusOK
			resp.Body.Close()
			if ok {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd member %s not healthy after %v:\n%s", m.Name, readyLimit, m.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill stops the member with SIGKILL, as a crash would, and waits for it
// to exit. Killing a stopped member does nothing.
func (m *Member) Kill() {
	m.mu.Lock()
	cmd, exit := m.cmd, m.exit
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exit
}

// Log returns what the member has logged (errors only, see Flags).
func (m *Member) Log() string {
	b, _ := os.ReadFile(filepath.Join(m.dir, "etcd.log"))
	return string(b)
}

// freeAddr returns a loopback address with a port that was free a moment
// ago. etcd cannot be given port 0, so the port is chosen here; the race
// with another process taking it in between is accepted in tests.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
