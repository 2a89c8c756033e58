package agent_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/docker"
	"github.com/wharf-ecs/wharf/internal/server"
)

// lockedBuffer collects log lines from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// secretsCluster is a server and an agent on the real Docker Engine whose
// logs, at debug level, are kept to be searched for leaked values.
type secretsCluster struct {
	url       string
	ecs       *ecs.Client
	ssm       *ssm.Client
	rt        *docker.Runtime
	serverLog *lockedBuffer
	agentLog  *lockedBuffer
}

func startSecretsCluster(t *testing.T) *secretsCluster {
	t.Helper()
	rt := dockerRuntime(t)
	sc := &secretsCluster{rt: rt, serverLog: &lockedBuffer{}, agentLog: &lockedBuffer{}}
	debug := &slog.HandlerOptions{Level: slog.LevelDebug}
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(),
		Log: slog.New(slog.NewTextHandler(sc.serverLog, debug)), Credentials: ecstest.RootCredentials()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	})
	sc.url = srv.URL()
	waitFor(t, 10*time.Second, "server healthy", func() bool { code, err := httpGet(sc.url + "/healthz"); return err == nil && code == 200 })
	sc.ecs = ecstest.NewClient(sc.url)
	sc.ssm = ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(sc.url), Credentials: ecstest.TestCredentials, RetryMaxAttempts: 1})

	ag, err := agent.New(agent.Config{
		Endpoint: sc.url, Credentials: ecstest.TestCredentials, Cluster: "default", DataDir: t.TempDir(),
		CPU: 2048, MemoryMiB: 2048, Runtime: rt, Log: slog.New(slog.NewTextHandler(sc.agentLog, debug)),
		PollWait: 5 * time.Second, ResyncInterval: time.Second, ContainerRetention: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	actx, stopAgent := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- ag.Run(actx) }()
	t.Cleanup(func() {
		stopAgent()
		<-ran
		removeTaskContainers(t, rt, ag.InstanceArn())
	})
	waitFor(t, 10*time.Second, "instance registered", func() bool { return ag.InstanceArn() != "" })
	return sc
}

// rawCall posts a signed ECS request and returns the answer's bytes as the
// wire carries them.
func (sc *secretsCluster) rawCall(t *testing.T, op, body string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, sc.url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Close = true
	ecstest.Sign(t, req, []byte(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s %s", op, resp.Status, b)
	}
	return string(b)
}

func randomValue(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// A task definition's secrets, one a SecureString named by ARN and one a
// String by name, reach the container's environment (a secret winning over
// an environment variable of the same name), and their values appear in no
// ECS answer and no log line of the server or the agent. A secret whose
// parameter is missing stops its task before any container is created.
func TestSecretsFromParameterStore(t *testing.T) {
	sc := startSecretsCluster(t)
	ctx := context.Background()
	password, token := randomValue("pw-"), randomValue("tok-")
	for _, p := range []ssm.PutParameterInput{
		{Name: aws.String("/e2e/db-password"), Value: aws.String(password), Type: ssmtypes.ParameterTypeSecureString},
		{Name: aws.String("e2e-token"), Value: aws.String(token), Type: ssmtypes.ParameterTypeString},
	} {
		if _, err := sc.ssm.PutParameter(ctx, &p); err != nil {
			t.Fatalf("PutParameter %s: %v", aws.ToString(p.Name), err)
		}
	}
	// The parameter store sits behind the same gate as ECS: a wrong key reads nothing.
	intruder := ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(sc.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(ecstest.TestAccessKeyID, "not-the-secret", "")})
	if _, err := intruder.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("e2e-token")}); err == nil {
		t.Fatal("GetParameter signed with a wrong secret key succeeded")
	}

	web := testapp("web", env("GREETING", "hello"), env("DB_PASSWORD", "from-environment"))
	web.Secrets = []types.Secret{
		{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/e2e/db-password")},
		{Name: aws.String("API_TOKEN"), ValueFrom: aws.String("e2e-token")},
	}
	td := register(t, sc.ecs, "with-secrets", web)
	task := runTask(t, sc.ecs, td)
	arn := aws.ToString(task.TaskArn)
	running := waitStatus(t, sc.ecs, arn, "RUNNING", 60*time.Second)
	port := hostPort(t, container(t, running, "web"), 8080)
	for name, want := range map[string]string{"DB_PASSWORD": password, "API_TOKEN": token, "GREETING": "hello"} {
		var got string
		waitFor(t, 10*time.Second, "the container's "+name, func() bool {
			v, err := httpBody(fmt.Sprintf("http://127.0.0.1:%d/env/%s", port, name))
			got = v
			return err == nil
		})
		if got != want {
			t.Errorf("container env %s = %q; want %q", name, got, want)
		}
	}

	answers := map[string]string{
		"DescribeTasks":          sc.rawCall(t, "DescribeTasks", fmt.Sprintf(`{"tasks":[%q],"include":["TAGS"]}`, arn)),
		"DescribeTaskDefinition": sc.rawCall(t, "DescribeTaskDefinition", fmt.Sprintf(`{"taskDefinition":%q}`, td)),
		"ListTasks":              sc.rawCall(t, "ListTasks", `{}`),
	}
	if _, err := sc.ecs.StopTask(ctx, &ecs.StopTaskInput{Task: task.TaskArn}); err != nil {
		t.Fatal(err)
	}
	waitStopped(t, sc.ecs, arn, 45*time.Second)
	answers["DescribeTasks after stop"] = sc.rawCall(t, "DescribeTasks", fmt.Sprintf(`{"tasks":[%q]}`, arn))
	if !strings.Contains(answers["DescribeTaskDefinition"], "/e2e/db-password") {
		t.Errorf("DescribeTaskDefinition lost the secret's valueFrom: %s", answers["DescribeTaskDefinition"])
	}

	// A missing parameter: TaskFailedToStart, the parameter named, no container made.
	broken := types.ContainerDefinition{Name: aws.String("app"), Image: aws.String(busyboxImage), Memory: aws.Int32(16),
		Command: []string{"sleep", "600"},
		Secrets: []types.Secret{{Name: aws.String("MISSING"), ValueFrom: aws.String("/e2e/not-there")}}}
	failed := runTask(t, sc.ecs, register(t, sc.ecs, "missing-secret", broken))
	stopped := waitStopped(t, sc.ecs, aws.ToString(failed.TaskArn), 30*time.Second)
	reason := aws.ToString(stopped.StoppedReason)
	if stopped.StopCode != types.TaskStopCodeTaskFailedToStart ||
		!strings.HasPrefix(reason, "ResourceInitializationError: unable to pull secrets or registry auth: ") ||
		!strings.Contains(reason, "/e2e/not-there") {
		t.Errorf("stopCode %s, reason %q; want TaskFailedToStart with a ResourceInitializationError naming /e2e/not-there", stopped.StopCode, reason)
	}
	if c := container(t, stopped, "app"); aws.ToString(c.LastStatus) != "STOPPED" || aws.ToString(c.RuntimeId) != "" {
		t.Errorf("container %s runtime ID %q; want STOPPED and never created", aws.ToString(c.LastStatus), aws.ToString(c.RuntimeId))
	}
	made, err := sc.rt.List(ctx, map[string]string{"com.amazonaws.ecs.task-arn": aws.ToString(failed.TaskArn)})
	if err != nil || len(made) != 0 {
		t.Errorf("Docker has %d containers of the failed task (err %v); want none", len(made), err)
	}

	for what, text := range map[string]string{"server log": sc.serverLog.String(), "agent log": sc.agentLog.String()} {
		if text == "" {
			t.Errorf("%s is empty: the leak check would prove nothing", what)
		}
		answers[what] = text
	}
	for what, text := range answers {
		for _, v := range []string{password, token} {
			if strings.Contains(text, v) {
				t.Errorf("%s holds a secret value", what)
			}
		}
	}
}
