package ecsapi

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

// FuzzAppendWireTask checks the hand-rolled member filter of DescribeTasks
// against encoding/json: for any stored task, what it writes decodes to the
// same ECS task (less tags when not asked for), and no wharf member survives.
func FuzzAppendWireTask(f *testing.F) {
	f.Add(`plain`, `sh`, `k`, `v`, int32(0), true)
	f.Add(`a "quoted" } ] \ reason`, `echo "{["`, `wharfKey`, "\u2028", int32(-1), false)
	f.Add("\x00\x01\xff", `\u0041`, "", `""`, int32(137), true)
	f.Fuzz(func(t *testing.T, reason, arg, tagKey, tagValue string, exit int32, withTags bool) {
		stored := state.Task{
			Task: model.Task{
				TaskArn: "arn:aws:ecs:us-east-1:123456789012:task/c/" + tagKey, LastStatus: "STOPPED", StoppedReason: reason,
				Overrides:  &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{{Name: arg, Command: []string{arg, reason}}}},
				Containers: []model.Container{{Name: arg, ExitCode: model.Ptr(exit), Reason: tagValue}},
				Tags:       []model.Tag{{Key: tagKey, Value: tagValue}},
			},
			InstanceID: reason, ClientToken: arg,
		}
		doc, err := json.Marshal(stored)
		if err != nil {
			t.Skip() // not a storable task
		}
		got, err := appendWireTask(nil, doc, withTags)
		if err != nil {
			t.Fatalf("appendWireTask(%s): %v", doc, err)
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(got, &members); err != nil {
			t.Fatalf("appendWireTask(%s) = %s: not JSON: %v", doc, got, err)
		}
		for k := range members {
			if len(k) >= 5 && k[:5] == "wharf" {
				t.Fatalf("appendWireTask kept %s", k)
			}
		}
		var back, want model.Task
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(doc, &want); err != nil {
			t.Fatal(err)
		}
		if !withTags {
			want.Tags = nil
		}
		if !reflect.DeepEqual(back, want) {
			t.Fatalf("appendWireTask changed the task:\n got %+v\nwant %+v", back, want)
		}
	})
}
