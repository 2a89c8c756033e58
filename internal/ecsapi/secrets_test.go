package ecsapi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

// fakeSecrets resolves from a map; a missing name is ParameterNotFound, and
// "/flaky" fails as a store would.
type fakeSecrets map[string]string

func (f fakeSecrets) Resolve(_ context.Context, valueFrom string) (string, error) {
	if valueFrom == "/flaky" {
		return "", errors.New("store: closed")
	}
	v, ok := f[valueFrom]
	if !ok {
		return "", awsproto.Errorf("ParameterNotFound", "Parameter %s not found.", valueFrom)
	}
	return v, nil
}

func secretTask(secrets ...model.Secret) agentproto.AgentTask {
	return agentproto.AgentTask{TaskDefinition: &model.TaskDefinition{ContainerDefinitions: []model.ContainerDefinition{
		{Name: "web", Secrets: secrets},
		{Name: "sidecar"},
	}}}
}

func TestResolveSecrets(t *testing.T) {
	a := &API{secrets: fakeSecrets{"/db/pass": "s3cret", "/api/key": "k3y"}}
	ctx := context.Background()
	pending := &model.Task{TaskArn: "arn:task", DesiredStatus: "RUNNING", LastStatus: "PENDING"}

	at := secretTask(model.Secret{Name: "DB_PASS", ValueFrom: "/db/pass"}, model.Secret{Name: "API_KEY", ValueFrom: "/api/key"})
	if err := a.resolveSecrets(ctx, pending, &at); err != nil {
		t.Fatal(err)
	}
	if got := at.Secrets["web"]; len(at.Secrets) != 1 || got["DB_PASS"] != "s3cret" || got["API_KEY"] != "k3y" || at.SecretsError != "" {
		t.Fatalf("Secrets = %v, error %q; want web's two values", at.Secrets, at.SecretsError)
	}

	// Once the task runs, or is to stop, no value goes out.
	for _, st := range []struct{ desired, last string }{{"RUNNING", "RUNNING"}, {"STOPPED", "PENDING"}, {"RUNNING", "STOPPING"}, {"RUNNING", "STOPPED"}} {
		at := secretTask(model.Secret{Name: "DB_PASS", ValueFrom: "/db/pass"})
		if err := a.resolveSecrets(ctx, &model.Task{DesiredStatus: st.desired, LastStatus: st.last}, &at); err != nil || at.Secrets != nil {
			t.Errorf("desired %s, last %s: Secrets %v, err %v; want none", st.desired, st.last, at.Secrets, err)
		}
	}

	// A missing parameter fails the task with every problem named and no value sent.
	at = secretTask(model.Secret{Name: "DB_PASS", ValueFrom: "/db/pass"}, model.Secret{Name: "GONE", ValueFrom: "/gone"}, model.Secret{Name: "ALSO", ValueFrom: "/also-gone"})
	if err := a.resolveSecrets(ctx, pending, &at); err != nil {
		t.Fatal(err)
	}
	if at.Secrets != nil || !strings.Contains(at.SecretsError, "secret GONE of container web (valueFrom /gone): Parameter /gone not found") ||
		!strings.Contains(at.SecretsError, "/also-gone") || strings.Contains(at.SecretsError, "s3cret") {
		t.Fatalf("Secrets %v, SecretsError %q; want no values and both missing parameters named", at.Secrets, at.SecretsError)
	}

	// A failing store fails the poll instead: the agent asks again.
	at = secretTask(model.Secret{Name: "X", ValueFrom: "/flaky"})
	if err := a.resolveSecrets(ctx, pending, &at); err == nil {
		t.Fatal("a store failure was not returned")
	}

	// Without a parameter store, a task with secrets cannot start.
	at = secretTask(model.Secret{Name: "X", ValueFrom: "/db/pass"})
	if err := (&API{}).resolveSecrets(ctx, pending, &at); err != nil || !strings.Contains(at.SecretsError, "no parameter store") {
		t.Fatalf("without a resolver: err %v, SecretsError %q", err, at.SecretsError)
	}
}
