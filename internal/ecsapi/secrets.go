package ecsapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

// SecretResolver returns the value a container secret's valueFrom names
// (Wharf's SSM Parameter Store implements it). An error that is an
// *awsproto.Error is the reference's fault — a missing parameter, an ARN
// Wharf cannot serve — and fails the task; any other error is the server's,
// and the poll fails so that the agent asks again.
type SecretResolver interface {
	Resolve(ctx context.Context, valueFrom string) (string, error)
}

// needsSecrets reports whether a task's containers may still be created, so
// that its agent needs the secrets' values: it is meant to run and has not
// yet run. Once it is RUNNING every container has been created, and the
// values are no longer sent anywhere.
func needsSecrets(t *model.Task) bool {
	if t.DesiredStatus != "RUNNING" {
		return false
	}
	switch t.LastStatus {
	case "", "PROVISIONING", "PENDING", "ACTIVATING":
		return true
	}
	return false
}

// resolveSecrets fills the agent's view of a task with the values of its
// containers' secrets, or with why they could not be had. The values exist
// only in this answer: they are never stored, and no log line carries them.
func (a *API) resolveSecrets(ctx context.Context, t *model.Task, at *agentproto.AgentTask) error {
	if !needsSecrets(t) {
		return nil
	}
	var problems []string
	for _, cd := range at.TaskDefinition.ContainerDefinitions {
		for _, s := range cd.Secrets {
			if a.secrets == nil {
				problems = append(problems, fmt.Sprintf("secret %s of container %s: this server has no parameter store to resolve secrets from", s.Name, cd.Name))
				continue
			}
			v, err := a.secrets.Resolve(ctx, s.ValueFrom)
			if e, ok := awsproto.AsError(err); ok {
				problems = append(problems, fmt.Sprintf("secret %s of container %s (valueFrom %s): %s", s.Name, cd.Name, s.ValueFrom, e.Message))
				continue
			}
			if err != nil {
				return fmt.Errorf("resolve secret %s of container %s: %w", s.Name, cd.Name, err)
			}
			if at.Secrets == nil {
				at.Secrets = map[string]map[string]string{}
			}
			if at.Secrets[cd.Name] == nil {
				at.Secrets[cd.Name] = map[string]string{}
			}
			at.Secrets[cd.Name][s.Name] = v
		}
	}
	if len(problems) > 0 {
		// Nothing of a task that cannot start goes to its agent.
		at.Secrets = nil
		at.SecretsError = "unable to retrieve secrets from ssm: " + strings.Join(problems, "; ")
	}
	return nil
}
