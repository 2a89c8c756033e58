//go:build linux

// Package ha runs replicated control planes as real processes: three etcd
// members, three `wharf server` processes on them, simulated agents
// (`wharf sim`), and kills them with SIGKILL.
package ha

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/store/etcd/etcdtest"
)

// process is a wharf subprocess; its output is shown when the test fails.
type process struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	exit chan struct{}
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func run(t testing.TB, name string, args ...string) *process {
	t.Helper()
	p := &process{name: name, exit: make(chan struct{})}
	p.cmd = exec.Command(ecstest.Binary(t), args...)
	p.cmd.Env = append(os.Environ(),
		"WHARF_ACCESS_KEY_ID="+ecstest.TestAccessKeyID, "WHARF_SECRET_ACCESS_KEY="+ecstest.TestSecretAccessKey,
		"AWS_ACCESS_KEY_ID="+ecstest.TestAccessKeyID, "AWS_SECRET_ACCESS_KEY="+ecstest.TestSecretAccessKey,
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exit) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("output of %s:\n%s", p.name, p.out.String())
			p.mu.Unlock()
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	select {
	case <-p.exit:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exit
}

// agentTimeout is the servers' --agent-timeout: how long an agent that
// stopped polling counts before its instance is judged disconnected.
const agentTimeout = 15 * time.Second

// cluster is three etcd members and n servers on them.
type cluster struct {
	t       testing.TB
	etcd    *etcdtest.Cluster
	keyFile string
	servers []*server
	hist    *history // what the scenario's clients do, once it records
}

type server struct {
	url  string
	addr string
	dir  string
	proc *process // nil while down
}

func startCluster(t testing.TB, n int) *cluster {
	t.Helper()
	c := &cluster{t: t, etcd: etcdtest.StartCluster(t, 3), keyFile: filepath.Join(t.TempDir(), "master.key")}
	// One key for every server, made before they start (docs/ha.md): three
	// servers creating it at once could read each other's half-written file.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range n {
		addr := freeAddr(t)
		c.servers = append(c.servers, &server{url: "http://" + addr, addr: addr, dir: t.TempDir()})
	}
	for i := range c.servers {
		c.start(i)
	}
	for i := range c.servers {
		c.waitHealthy(i)
	}
	return c
}

// start (re)starts server i on its address and data directory. Rate limits
// are off: the bursts here are load, not abuse.
func (c *cluster) start(i int) {
	s := c.servers[i]
	s.proc = run(c.t, fmt.Sprintf("server %d", i), "server", "--listen", s.addr, "--data-dir", s.dir,
		"--etcd-endpoints", strings.Join(c.etcd.Endpoints(), ","), "--master-key-file", c.keyFile,
		"--rate-limit-scale", "0", "--agent-timeout", agentTimeout.String())
}

func (c *cluster) kill(i int) {
	c.servers[i].proc.kill()
	c.servers[i].proc = nil
}

func (c *cluster) waitHealthy(i int) {
	c.t.Helper()
	s := c.servers[i]
	waitFor(c.t, 30*time.Second, s.url+" healthy", func() bool { return healthy(s.url) })
}

// urls are the servers' endpoints, comma-separated, for agents.
func (c *cluster) urls() string {
	var u []string
	for _, s := range c.servers {
		u = append(u, s.url)
	}
	return strings.Join(u, ",")
}

// leader returns the index of the server that says it leads, -1 if none
// of the live ones does.
func (c *cluster) leader() int {
	for i, s := range c.servers {
		if s.proc != nil && leads(s.url) {
			return i
		}
	}
	return -1
}

func (c *cluster) waitLeader(within time.Duration) int {
	c.t.Helper()
	var l int
	waitFor(c.t, within, "a leader", func() bool { l = c.leader(); return l >= 0 })
	return l
}

// client is an ECS client of server i that does not retry: an error is
// an unacknowledged call. Once the scenario records, its calls go into the
// history.
func (c *cluster) client(i int) *ecs.Client {
	var opts []func(*ecs.Options)
	if c.hist != nil {
		opts = append(opts, c.hist.record)
	}
	return ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(c.servers[i].url), Credentials: ecstest.TestCredentials,
		RetryMaxAttempts: 1, HTTPClient: &http.Client{Timeout: 30 * time.Second},
	}, opts...)
}

// record begins the scenario's history of the named cluster.
func (c *cluster) record(name string) *history {
	var urls []string
	for _, s := range c.servers {
		urls = append(urls, s.url)
	}
	c.hist = newHistory(c.t, name, urls, limits{lag: 5 * time.Second, grace: agentTimeout})
	return c.hist
}

// live returns a client of any running server.
func (c *cluster) live() *ecs.Client {
	for i, s := range c.servers {
		if s.proc != nil {
			return c.client(i)
		}
	}
	c.t.Fatal("no server is running")
	return nil
}

// agents runs n simulated container instances in cluster name, polling
// the given endpoints (comma-separated), and waits for them to register.
func (c *cluster) agents(name, endpoints string, n int) *process {
	c.t.Helper()
	p := run(c.t, "wharf sim", "sim", "--endpoint", endpoints, "--cluster", name, "--instances", fmt.Sprint(n),
		"--start-delay", "20ms", "--poll-wait", "2s", "--memory", "4096", "--cpu", "4096")
	waitFor(c.t, 30*time.Second, fmt.Sprintf("%d instances registered", n), func() bool {
		out, err := c.live().ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{Cluster: aws.String(name)})
		return err == nil && len(out.ContainerInstanceArns) == n
	})
	return p
}

// taskDef registers the family: one 64 MiB busybox container.
func (c *cluster) taskDef(family string) {
	c.t.Helper()
	if _, err := c.live().RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{Family: aws.String(family),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("busybox:latest"),
			Memory: aws.Int32(64), Cpu: 64, Essential: aws.Bool(true)}}}); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) runningCount(cluster, service string) int32 {
	out, err := c.live().DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil || len(out.Services) != 1 {
		return -1
	}
	return out.Services[0].RunningCount
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitFor(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
