// Package awslogs reads the awslogs log driver's options from an ECS
// container definition and names the log streams its output goes to, the
// same way for the agent that ships the output, the server that checks the
// agent may, and the CLI that reads it back.
package awslogs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
)

// Driver is the log driver's name in a logConfiguration.
const Driver = "awslogs"

// The options Wharf honours. Others (awslogs-datetime-format,
// awslogs-multiline-pattern, mode, max-buffer-size, awslogs-endpoint) are
// accepted and ignored: every output line is one event.
const (
	OptGroup        = "awslogs-group"
	OptRegion       = "awslogs-region"
	OptStreamPrefix = "awslogs-stream-prefix"
	OptCreateGroup  = "awslogs-create-group"
)

// Config is one container's awslogs configuration.
type Config struct {
	Group        string
	Region       string // informational: Wharf has one region
	StreamPrefix string // "": the stream is named after the container ID
	CreateGroup  bool
}

// Of returns the awslogs configuration of a container definition; ok is
// false when the container logs with another driver.
func Of(cd *model.ContainerDefinition) (cfg Config, ok bool, err error) {
	lc := cd.LogConfiguration
	if lc == nil || string(lc.LogDriver) != Driver {
		return Config{}, false, nil
	}
	cfg, err = FromOptions(lc.Options)
	if err != nil {
		return Config{}, true, fmt.Errorf("container %s: %w", cd.Name, err)
	}
	return cfg, true, nil
}

// FromOptions reads a logConfiguration's options.
func FromOptions(opts map[string]string) (Config, error) {
	cfg := Config{Group: opts[OptGroup], Region: opts[OptRegion], StreamPrefix: opts[OptStreamPrefix]}
	if cfg.Group == "" {
		return Config{}, fmt.Errorf("the awslogs log driver needs the %s option: the log group to send the output to", OptGroup)
	}
	if v, ok := opts[OptCreateGroup]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q: want true or false", OptCreateGroup, v)
		}
		cfg.CreateGroup = b
	}
	if strings.ContainsAny(cfg.StreamPrefix, ":*") {
		return Config{}, fmt.Errorf("%s=%q: a log stream name can hold neither ':' nor '*'", OptStreamPrefix, cfg.StreamPrefix)
	}
	return cfg, nil
}

// StreamName is the log stream of a container's output, as ECS names it:
// PREFIX/CONTAINER-NAME/TASK-ID with a stream prefix, else the runtime's
// container ID (as Docker's awslogs driver names it).
func (c Config) StreamName(containerName, taskID, containerID string) string {
	if c.StreamPrefix == "" {
		return containerID
	}
	return c.StreamPrefix + "/" + containerName + "/" + taskID
}

// ParseStream splits a stream name of the form PREFIX/CONTAINER-NAME/TASK-ID.
func ParseStream(name string) (prefix, container, taskID string, ok bool) {
	i := strings.LastIndexByte(name, '/')
	if i <= 0 {
		return "", "", "", false
	}
	j := strings.LastIndexByte(name[:i], '/')
	if j <= 0 || j+1 == i || i+1 == len(name) {
		return "", "", "", false
	}
	return name[:j], name[j+1 : i], name[i+1:], true
}

// TaskID is the ID at the end of a task ARN.
func TaskID(taskArn string) string { return taskArn[strings.LastIndexByte(taskArn, '/')+1:] }
