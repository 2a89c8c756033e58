package agent

import (
	"maps"
	"strings"
	"testing"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

// Secrets go into the environment last: over the definition's environment
// and the task's overrides, as ECS merges them.
func TestAddSecretsMergesLast(t *testing.T) {
	cd := model.ContainerDefinition{
		Name: "app", Image: "wharf-testapp:latest",
		Environment: []model.KeyValuePair{{Name: "PLAIN", Value: "1"}, {Name: "DB_PASSWORD", Value: "from-environment"}, {Name: "TOKEN", Value: "env"}},
		Secrets:     []model.Secret{{Name: "DB_PASSWORD", ValueFrom: "/db/pass"}, {Name: "TOKEN", ValueFrom: "/token"}, {Name: "ONLY_SECRET", ValueFrom: "/only"}},
	}
	at := agentproto.AgentTask{
		Task: model.Task{TaskArn: taskArn, ClusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
			Overrides: &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{{
				Name: "app", Environment: []model.KeyValuePair{{Name: "TOKEN", Value: "from-override"}, {Name: "EXTRA", Value: "x"}},
			}}}},
		TaskDefinition: &model.TaskDefinition{Family: "web", Revision: model.Ptr(int32(1)), ContainerDefinitions: []model.ContainerDefinition{cd}},
		Secrets: map[string]map[string]string{
			"app":   {"DB_PASSWORD": "s3cret", "TOKEN": "t0ken", "ONLY_SECRET": "only"},
			"other": {"DB_PASSWORD": "not-for-app"},
		},
	}
	s, err := buildSpec(&at.Task, at.TaskDefinition, &cd, instArn)
	if err != nil {
		t.Fatal(err)
	}
	if err := addSecrets(&s, &at, &cd); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"PLAIN": "1", "DB_PASSWORD": "s3cret", "TOKEN": "t0ken", "ONLY_SECRET": "only", "EXTRA": "x"}
	if !maps.Equal(s.Env, want) {
		t.Fatalf("Env = %v; want %v", s.Env, want)
	}

	// A container without secrets keeps its environment as it is.
	plain := model.ContainerDefinition{Name: "plain", Environment: []model.KeyValuePair{{Name: "A", Value: "1"}}}
	s, _ = buildSpec(&at.Task, at.TaskDefinition, &plain, instArn)
	if err := addSecrets(&s, &agentproto.AgentTask{}, &plain); err != nil || !maps.Equal(s.Env, map[string]string{"A": "1"}) {
		t.Fatalf("without secrets: Env %v, err %v", s.Env, err)
	}

	// A secret the server sent no value for is an error that names it, not its value.
	at.Secrets = map[string]map[string]string{"app": {"DB_PASSWORD": "s3cret"}}
	s, _ = buildSpec(&at.Task, at.TaskDefinition, &cd, instArn)
	err = addSecrets(&s, &at, &cd)
	if err == nil || !strings.Contains(err.Error(), "TOKEN") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("missing value: err %v; want one naming TOKEN and no value", err)
	}
}
