package capacity

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// DefaultAgentImage is the image DockerLauncher runs: FROM scratch with the
// static wharf binary, built by scripts/agent-image.sh (no registry).
const DefaultAgentImage = "wharf-agent:latest"

// LabelLaunch is on every container DockerLauncher starts: the launch's name.
const LabelLaunch = "org.wharf-ecs.launch"

// DockerLauncher starts instances as containers on the local Docker daemon,
// each running `wharf agent` with the daemon's socket mounted, so that its
// tasks run as siblings on the same daemon. The agents use the host's
// network namespace and reach the server at the launch spec's endpoint.
type DockerLauncher struct {
	image  string
	socket string // the daemon's socket on the host
	cli    *client.Client
	log    *slog.Logger
}

// NewDockerLauncher connects to the daemon named by the environment
// (DOCKER_HOST; the local socket by default). image "" is DefaultAgentImage.
func NewDockerLauncher(image string, log *slog.Logger) (*DockerLauncher, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker launcher: configure client: %w", err)
	}
	if image == "" {
		image = DefaultAgentImage
	}
	socket := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		socket = strings.TrimPrefix(h, "unix://")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DockerLauncher{image: image, socket: socket, cli: cli, log: log}, nil
}

// Check says whether the agent image is present, with what to do if not.
func (l *DockerLauncher) Check(ctx context.Context) error {
	if _, err := l.cli.ImageInspect(ctx, l.image); err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("the agent image %s is missing: build it with scripts/agent-image.sh", l.image)
		}
		return fmt.Errorf("docker launcher: %w", err)
	}
	return nil
}

// Launch creates and starts the agent's container.
func (l *DockerLauncher) Launch(ctx context.Context, spec InstanceSpec) (string, error) {
	args := []string{"agent", "--endpoint", spec.Endpoint, "--cluster", spec.Cluster, "--data-dir", "/var/lib/wharf-agent"}
	keys := make([]string, 0, len(spec.Attributes))
	for k := range spec.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		args = append(args, "--attribute", k+"="+spec.Attributes[k])
	}
	if spec.CPU > 0 {
		args = append(args, "--cpu", strconv.FormatInt(spec.CPU, 10))
	}
	if spec.MemoryMiB > 0 {
		args = append(args, "--memory", strconv.FormatInt(spec.MemoryMiB, 10))
	}
	cfg := &container.Config{
		Image:  l.image,
		Cmd:    args,
		Env:    []string{"WHARF_JOIN_TOKEN=" + spec.JoinToken},
		Labels: map[string]string{LabelLaunch: spec.Name},
	}
	host := &container.HostConfig{
		NetworkMode:   "host",
		Binds:         []string{l.socket + ":/var/run/docker.sock"},
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
	}
	created, err := l.cli.ContainerCreate(ctx, cfg, host, nil, nil, spec.Name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("the agent image %s is missing: build it with scripts/agent-image.sh", l.image)
		}
		return "", fmt.Errorf("create the agent container %s: %w", spec.Name, err)
	}
	if err := l.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		_ = l.cli.ContainerRemove(context.WithoutCancel(ctx), created.ID, container.RemoveOptions{Force: true})
		return "", fmt.Errorf("start the agent container %s: %w", spec.Name, err)
	}
	l.log.Info("launched an instance", "container", spec.Name, "cluster", spec.Cluster)
	return created.ID, nil
}

// Terminate stops the agent's container (SIGTERM, then SIGKILL after ten
// seconds) and removes it, with the containers its tasks left behind (the
// scaler terminates only instances whose tasks have stopped, and no other
// agent would ever adopt them).
func (l *DockerLauncher) Terminate(ctx context.Context, handle string) error {
	instance := l.instanceOf(ctx, handle)
	timeout := 10
	if err := l.cli.ContainerStop(ctx, handle, container.StopOptions{Timeout: &timeout}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop the agent container: %w", err)
	}
	if err := l.cli.ContainerRemove(ctx, handle, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove the agent container: %w", err)
	}
	if instance != "" {
		left, err := l.cli.ContainerList(ctx, container.ListOptions{All: true,
			Filters: filters.NewArgs(filters.Arg("label", labelInstance+"="+instance))})
		if err != nil {
			return fmt.Errorf("list the instance's task containers: %w", err)
		}
		for _, c := range left {
			if err := l.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
				return fmt.Errorf("remove task container %s: %w", c.ID, err)
			}
		}
	}
	l.log.Info("terminated an instance", "container", handle, "instance", instance)
	return nil
}

// labelInstance is the label the agent puts on its tasks' containers.
const labelInstance = "org.wharf-ecs.container-instance-arn"

// instanceOf reads the container instance ARN the agent in the container
// saved in its data directory ("" when it cannot be read).
func (l *DockerLauncher) instanceOf(ctx context.Context, handle string) string {
	rc, _, err := l.cli.CopyFromContainer(ctx, handle, "/var/lib/wharf-agent/instance.json")
	if err != nil {
		return ""
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		return ""
	}
	var saved struct {
		ContainerInstanceArn string `json:"containerInstanceArn"`
	}
	if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&saved); err != nil {
		return ""
	}
	return saved.ContainerInstanceArn
}

// Close releases the client.
func (l *DockerLauncher) Close() error { return l.cli.Close() }
