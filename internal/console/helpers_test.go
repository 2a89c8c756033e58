package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/auth"
	servicectl "github.com/wharf-ecs/wharf/internal/controller/service"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// Users of the test servers besides root: a reader who may only look, and a
// user who may do nothing at all.
const (
	readerKey, readerSecret = "AKIAREADER0000000001", "reader-secret-0000000001"
	nobodyKey, nobodySecret = "AKIANOBODY0000000001", "nobody-secret-0000000001"
)

const usersJSON = `{"users": [
 {"name": "reader", "accessKeys": [{"accessKeyId": "AKIAREADER0000000001", "secretAccessKey": "reader-secret-0000000001"}],
  "policies": [{"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["ecs:Describe*", "ecs:List*"], "Resource": "*"},
    {"Effect": "Deny", "Action": "ecs:ListTasks", "Resource": "arn:aws:ecs:us-east-1:123456789012:cluster/secret"}]}]},
 {"name": "nobody", "accessKeys": [{"accessKeyId": "AKIANOBODY0000000001", "secretAccessKey": "nobody-secret-0000000001"}]}
]}`

// credentials are root's test key and the users above.
func credentials(t *testing.T) auth.Credentials {
	t.Helper()
	users, err := auth.ParseUsers([]byte(usersJSON))
	if err != nil {
		t.Fatal(err)
	}
	return auth.Chain{ecstest.RootCredentials(), users}
}

// env is a test server and the file of its audit lines.
type env struct {
	*ecstest.Server
	audit string
}

func start(t *testing.T) *env {
	t.Helper()
	audit, err := os.Create(filepath.Join(t.TempDir(), "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { audit.Close() })
	srv := ecstest.StartWith(t, ecstest.Options{Credentials: credentials(t), AuditLog: audit,
		ServiceTuning: servicectl.Tuning{Interval: 100 * time.Millisecond, HealthyAfter: 300 * time.Millisecond,
			BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond}})
	return &env{Server: srv, audit: audit.Name()}
}

// auditLog is what the server has audited so far.
func (e *env) auditLog(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(e.audit)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// simAgent runs the real agent on a simulated host in cluster until the test
// ends, and returns once its instance is registered.
func (e *env) simAgent(t *testing.T, cluster, zone string) {
	t.Helper()
	ag, err := agent.New(agent.Config{
		Endpoint: e.URL(), Credentials: ecstest.TestCredentials, Cluster: cluster, DataDir: t.TempDir(),
		CPU: 2048, MemoryMiB: 2048, Zone: zone,
		Runtime:  sim.New(sim.Options{StartDelay: 20 * time.Millisecond, CPUs: 2, MemoryMiB: 2048}),
		PollWait: time.Second, ResyncInterval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent Run = %v", err)
		}
	})
	waitUntil(t, "the instance registers", func() bool { return ag.InstanceArn() != "" })
}

// fixture makes, as root, cluster with task definition "web" (an awslogs
// container) and service "web" of desired tasks.
func (e *env) fixture(t *testing.T, cluster string, desired int32) {
	t.Helper()
	ctx := context.Background()
	c := e.Client
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("wharf-testapp:latest"), Memory: aws.Int32(256), Cpu: 256,
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/wharf/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web", "awslogs-create-group": "true"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(desired)})
	if err != nil {
		t.Fatal(err)
	}
}

// service describes a service as root.
func (e *env) service(t *testing.T, cluster, name string) types.Service {
	t.Helper()
	out, err := e.Client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices = %+v, %v", out, err)
	}
	return out.Services[0]
}

// runningTasks lists the RUNNING tasks of a service as root.
func (e *env) runningTasks(t *testing.T, cluster, svc string) []types.Task {
	t.Helper()
	ctx := context.Background()
	arns, err := e.Client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(svc)})
	if err != nil {
		t.Fatal(err)
	}
	if len(arns.TaskArns) == 0 {
		return nil
	}
	out, err := e.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	var running []types.Task
	for _, tk := range out.Tasks {
		if aws.ToString(tk.LastStatus) == "RUNNING" {
			running = append(running, tk)
		}
	}
	return running
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// browser is an HTTP client that keeps cookies and does not follow
// redirects, so tests see each answer.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer: status, Location and body.
type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body), header: resp.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	csrfField   = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	signinField = regexp.MustCompile(`name="token" value="([^"]+)"`)
)

// signIn signs in with a key and fails the test unless it works.
func (b *browser) signIn(id, secret string) {
	b.t.Helper()
	if p := b.trySignIn(id, secret); p.status != http.StatusSeeOther || p.location != "/console/" {
		b.t.Fatalf("sign in as %s: status %d, Location %q; want 303 to /console/\n%s", id, p.status, p.location, p.body)
	}
}

func (b *browser) trySignIn(id, secret string) page {
	b.t.Helper()
	form := b.get("/console/signin")
	m := signinField.FindStringSubmatch(form.body)
	if form.status != http.StatusOK || m == nil {
		b.t.Fatalf("GET /console/signin: status %d, no form token\n%s", form.status, form.body)
	}
	return b.post("/console/signin", url.Values{"token": {m[1]}, "accessKeyId": {id}, "secretAccessKey": {secret}})
}

// csrf is the form token of the session, read from a page.
func (b *browser) csrf() string {
	b.t.Helper()
	p := b.get("/console/")
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no csrf token on /console/ (status %d)\n%s", p.status, p.body)
	}
	return m[1]
}

func wantStatus(t *testing.T, what string, p page, want int) {
	t.Helper()
	if p.status != want {
		t.Fatalf("%s: status %d; want %d\n%s", what, p.status, want, p.body)
	}
}

func wantBody(t *testing.T, what string, p page, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("%s: the page lacks %q\n%s", what, s, p.body)
		}
	}
}

func desired(t *testing.T, e *env, cluster, svc string) int32 {
	t.Helper()
	return e.service(t, cluster, svc).DesiredCount
}

func itoa(n int) string { return fmt.Sprint(n) }
