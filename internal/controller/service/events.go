package service

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/ecsapi"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Service events, with ECS's messages. The latest 100 are kept, newest
// first; a message equal to the latest one is left out for six hours, as ECS
// leaves out repeats until the cause is resolved or six hours pass.

const (
	maxEvents       = 100
	repeatAfter     = 6 * time.Hour
	tasksPerEvent   = 10
	troubleshooting = " For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
)

func msgSteady(svc string) string {
	return fmt.Sprintf("(service %s) has reached a steady state.", svc)
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

// chunked splits task IDs into events of at most tasksPerEvent, as ECS does
// for a large scale-out.
func chunked(ids []string, format func([]string) string) []string {
	var out []string
	for len(ids) > 0 {
		n := min(len(ids), tasksPerEvent)
		out = append(out, format(ids[:n]))
		ids = ids[n:]
	}
	return out
}

func msgsStarted(svc string, ids []string) []string {
	return chunked(ids, func(ids []string) string {
		return fmt.Sprintf("(service %s) has started %d tasks: %s.", svc, len(ids), taskList(ids))
	})
}

func msgsStopped(svc string, ids []string) []string {
	return chunked(ids, func(ids []string) string {
		return fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", svc, len(ids), taskList(ids))
	})
}

func msgHealthCheck(svc, taskID string) string {
	return fmt.Sprintf("(service %s) (task %s) failed container health checks.", svc, taskID)
}

func msgDeploymentCompleted(svc, id string) string {
	return fmt.Sprintf("(service %s) (deployment %s) deployment completed.", svc, id)
}

func msgDeploymentFailed(svc, id string) string {
	return fmt.Sprintf("(service %s) (deployment %s) deployment failed: tasks failed to start.", svc, id)
}

func msgStartImpaired(svc string) string {
	return fmt.Sprintf("(service %s) is unable to consistently start tasks successfully."+troubleshooting, svc)
}

func msgLaunchError(svc, err string) string {
	return fmt.Sprintf("(service %s) failed to launch a task with (error %s).", svc, err)
}

// msgUnableToPlace explains a placement failure from the first instance's
// reason, as ECS names the closest matching instance.
func msgUnableToPlace(svc string, f model.Failure) string {
	head := fmt.Sprintf("(service %s) was unable to place a task because no container instance met all of its requirements.", svc)
	if f.Reason == ecsapi.ReasonNoInstances {
		return head + " Reason: No Container Instances were found in your cluster." + troubleshooting
	}
	inst := "(container-instance " + f.Arn[strings.LastIndexByte(f.Arn, '/')+1:] + ")"
	var what string
	switch f.Reason {
	case "RESOURCE:CPU":
		what = "has insufficient CPU units available."
	case "RESOURCE:MEMORY":
		what = "has insufficient memory available."
	case "RESOURCE:PORTS":
		what = "is already using a port required by your task."
	case "AGENT":
		what = "is not connected: its agent does not answer."
	default:
		what = "encountered error \"" + f.Reason + "\"."
	}
	return head + " The closest matching " + inst + " " + what + troubleshooting
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// addEvent holds an event for the service until its next successful write,
// so that an event survives a write that lost a race.
func (c *Controller) addEvent(key string, svc *state.Service, msg string, now time.Time) {
	held := c.held[key]
	if n := len(held); n > 0 {
		if held[n-1].Message == msg {
			return
		}
	} else if len(svc.Events) > 0 && svc.Events[0].Message == msg && svc.Events[0].CreatedAt != nil &&
		now.Sub(svc.Events[0].CreatedAt.Time) < repeatAfter {
		return
	}
	held = append(held, model.ServiceEvent{Id: newEventID(), CreatedAt: model.NewTime(now), Message: msg})
	if len(held) > maxEvents {
		held = held[len(held)-maxEvents:] // only the latest are ever shown
	}
	c.held[key] = held
}

// withHeldEvents puts the held events on svc, newest first.
func (c *Controller) withHeldEvents(key string, svc *state.Service) {
	held := c.held[key]
	if len(held) == 0 {
		return
	}
	events := make([]model.ServiceEvent, 0, len(held)+len(svc.Events))
	for i := len(held) - 1; i >= 0; i-- {
		events = append(events, held[i])
	}
	events = append(events, svc.Events...)
	if len(events) > maxEvents {
		events = events[:maxEvents]
	}
	svc.Events = events
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
