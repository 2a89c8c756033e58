package agent_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// RunTask overrides (environment, command) reach the container.
func TestOverridesReachTheContainer(t *testing.T) {
	cl := startCluster(t)
	td := register(t, cl.c, "overridden", testapp("web", env("COLOR", "blue")))
	out, err := cl.c.RunTask(context.Background(), &ecs.RunTaskInput{
		TaskDefinition: aws.String(td),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{
			Name:        aws.String("web"),
			Environment: []types.KeyValuePair{env("COLOR", "green"), env("EXTRA", "yes")},
			Command:     []string{"-port", "8080"},
		}}},
	})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	running := waitStatus(t, cl.c, arn, "RUNNING", 30*time.Second)
	port := hostPort(t, container(t, running, "web"), 8080)
	for name, want := range map[string]string{"COLOR": "green", "EXTRA": "yes"} {
		waitFor(t, 10*time.Second, "env "+name, func() bool {
			body, err := httpBody(fmt.Sprintf("http://127.0.0.1:%d/env/%s", port, name))
			return err == nil && body == want
		})
	}
}

// networkMode host: the container listens on the host's own port, and the
// task reports that port as its binding.
func TestHostNetworkMode(t *testing.T) {
	cl := startCluster(t)
	port := freeHostPort(t)
	out, err := cl.c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family:      aws.String("hostnet"),
		NetworkMode: types.NetworkModeHost,
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(testappImage), Memory: aws.Int32(64),
			Environment:  []types.KeyValuePair{env("PORT", fmt.Sprint(port))},
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(port), HostPort: aws.Int32(port)}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	task := runTask(t, cl.c, aws.ToString(out.TaskDefinition.TaskDefinitionArn))
	running := waitStatus(t, cl.c, aws.ToString(task.TaskArn), "RUNNING", 30*time.Second)
	if got := hostPort(t, container(t, running, "web"), port); got != port {
		t.Fatalf("host-mode binding reports host port %d; want %d", got, port)
	}
	waitFor(t, 10*time.Second, "HTTP on the host's port", func() bool {
		code, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/health", port))
		return err == nil && code == 200
	})
}

// Stopped containers are removed once the retention time has passed.
func TestStoppedContainersRemovedAfterRetention(t *testing.T) {
	cl := startClusterWith(t, 2*time.Second)
	td := register(t, cl.c, "shortlived", types.ContainerDefinition{
		Name: aws.String("main"), Image: aws.String(busyboxImage), Memory: aws.Int32(16),
		Command: []string{"sh", "-c", "exit 0"},
	})
	task := runTask(t, cl.c, td)
	arn := aws.ToString(task.TaskArn)
	waitStopped(t, cl.c, arn, 30*time.Second)
	rt := dockerRuntime(t)
	waitFor(t, 20*time.Second, "the stopped container to be removed", func() bool {
		states, err := rt.List(context.Background(), map[string]string{"com.amazonaws.ecs.task-arn": arn})
		return err == nil && len(states) == 0
	})
}

func freeHostPort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}
