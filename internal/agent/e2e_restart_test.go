package agent_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/ecstest"
)

// RestartContainer restarts one container of a running task in place: the
// same Docker container starts again, the task keeps running with the same
// ARN, and its other container is not touched.
func TestRestartOneContainer(t *testing.T) {
	cl := startCluster(t)
	sidecar := types.ContainerDefinition{Name: aws.String("sidecar"), Image: aws.String(busyboxImage), Memory: aws.Int32(16),
		Command: []string{"sleep", "600"}, Essential: aws.Bool(false)}
	td := register(t, cl.c, "restartable", testapp("web"), sidecar)
	task := runTask(t, cl.c, td)
	arn := aws.ToString(task.TaskArn)
	running := waitStatus(t, cl.c, arn, "RUNNING", 30*time.Second)
	webID := aws.ToString(container(t, running, "web").RuntimeId)
	sideID := aws.ToString(container(t, running, "sidecar").RuntimeId)
	startedAt := func(id string) string {
		out, err := exec.Command("docker", "inspect", "-f", "{{.State.StartedAt}}", id).Output()
		if err != nil {
			t.Fatalf("docker inspect %s: %v", id, err)
		}
		return strings.TrimSpace(string(out))
	}
	webBefore, sideBefore := startedAt(webID), startedAt(sideID)

	admin := agent.NewAPIClient(cl.srv.URL(), nil, ecstest.TestCredentials, "us-east-1")
	call := func(container string) error {
		return admin.Call(context.Background(), agentproto.AdminTargetPrefix+"."+agentproto.RestartContainer,
			agentproto.RestartContainerRequest{Task: arn, Container: container}, nil)
	}
	if err := call("nope"); err == nil || !strings.Contains(err.Error(), "no container") {
		t.Fatalf("restart of an unknown container: %v; want a refusal naming the containers", err)
	}
	if err := call("web"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the web container to start again", func() bool { return startedAt(webID) != webBefore })
	time.Sleep(2 * time.Second) // a few agent steps: the task must not stop
	after := describe(t, cl.c, arn)
	if aws.ToString(after.LastStatus) != "RUNNING" || aws.ToString(after.DesiredStatus) != "RUNNING" {
		t.Fatalf("task after the restart: %s/%s; want RUNNING", aws.ToString(after.LastStatus), aws.ToString(after.DesiredStatus))
	}
	if got := aws.ToString(container(t, after, "web").RuntimeId); got != webID {
		t.Fatalf("web runs in container %s after the restart; want the same container %s", got, webID)
	}
	if startedAt(sideID) != sideBefore {
		t.Fatal("the sidecar was restarted too")
	}
}
