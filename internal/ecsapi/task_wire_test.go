package ecsapi

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
)

func TestAppendWireTask(t *testing.T) {
	stored := state.Task{
		Task: model.Task{
			TaskArn: "arn:aws:ecs:us-east-1:123456789012:task/c/abc", LastStatus: "RUNNING",
			StoppedReason: `a "quoted" reason with } and ] and \ and <html>`,
			Overrides: &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{{
				Name: "app", Command: []string{"sh", "-c", `echo "{[" && exit 1`},
			}}},
			Containers: []model.Container{{Name: "app", ExitCode: model.Ptr(int32(-1)), NetworkBindings: []model.NetworkBinding{{HostPort: model.Ptr(int32(80))}}}},
			Tags:       []model.Tag{{Key: "wharfish", Value: "tags are kept"}},
			Version:    model.Ptr(int64(3)),
		},
		InstanceID: "inst", ClientToken: "tok", Reserved: &state.TaskReservation{CPU: 1, PortsTCP: []string{"80"}}, StoppedByUser: true,
	}
	doc, err := json.Marshal(stored)
	if err != nil {
		t.Fatal(err)
	}
	for _, withTags := range []bool{true, false} {
		got, err := appendWireTask([]byte("prefix"), doc, withTags)
		if err != nil {
			t.Fatalf("appendWireTask(withTags=%v): %v", withTags, err)
		}
		if string(got[:6]) != "prefix" {
			t.Fatalf("appendWireTask dropped what was before it: %q", got)
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(got[6:], &members); err != nil {
			t.Fatalf("appendWireTask(withTags=%v) = %s: not JSON: %v", withTags, got[6:], err)
		}
		for k := range members {
			if len(k) >= 5 && k[:5] == "wharf" {
				t.Errorf("appendWireTask(withTags=%v) kept %s", withTags, k)
			}
		}
		var back model.Task
		if err := json.Unmarshal(got[6:], &back); err != nil {
			t.Fatal(err)
		}
		want := stored.Task
		if !withTags {
			want.Tags = nil
		}
		if !reflect.DeepEqual(back, want) {
			t.Errorf("appendWireTask(withTags=%v) round trip = %+v; want %+v", withTags, back, want)
		}
	}
	for _, bad := range []string{``, `[]`, `{"a":`, `{"a" 1}`, `{"a":"unterminated}`, `{"a":{"b":[1,2}`, `{"a":1`, `{a:1}`} {
		if _, err := appendWireTask(nil, []byte(bad), true); err == nil {
			t.Errorf("appendWireTask(%q): no error", bad)
		}
	}
	if got, err := appendWireTask(nil, []byte(` { "wharfOnly" : 1 , "x" : [ 1 ] } `), false); err != nil || string(got) != `{"x":[ 1 ]}` {
		t.Errorf("appendWireTask with spaces = %s, %v", got, err)
	}
}
