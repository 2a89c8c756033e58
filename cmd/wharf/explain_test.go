package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wharf-ecs/wharf/internal/agentproto"
	"github.com/wharf-ecs/wharf/internal/model"
)

func TestPrintExplanation(t *testing.T) {
	var b bytes.Buffer
	err := printExplanation(&b, &agentproto.ExplainPlacementResponse{
		TaskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/app:1", CPU: 512, Memory: 128,
		Constraints: []model.PlacementConstraint{{Type: "memberOf", Expression: "attribute:disk == ssd"}},
		Strategies:  []model.PlacementStrategy{{Type: "spread", Field: "instanceId"}},
		Tasks: []agentproto.TaskExplanation{{
			ChosenInstanceArn: "arn:aws:ecs:us-east-1:123456789012:container-instance/x/b",
			Instances: []agentproto.InstanceVerdict{
				{ContainerInstanceArn: "arn:aws:ecs:us-east-1:123456789012:container-instance/x/a", Check: "cpu", Reason: "RESOURCE:CPU", Detail: "needs 512 CPU units, has 256"},
				{ContainerInstanceArn: "arn:aws:ecs:us-east-1:123456789012:container-instance/x/b", Accepted: true, Chosen: true},
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"memberOf attribute:disk == ssd", "spread(instanceId)", "would be placed on x/b",
		"x/a", "refused", "RESOURCE:CPU", "needs 512 CPU units, has 256", "chosen"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := parseConstraintFlag("sameHost"); err == nil {
		t.Error("an unknown constraint type was accepted")
	}
	if c, err := parseConstraintFlag("memberOf:attribute:x == y"); err != nil || c.Expression != "attribute:x == y" {
		t.Errorf("memberOf flag = %+v, %v", c, err)
	}
}
