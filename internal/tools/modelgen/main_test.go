package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const tinyModel = `{
 "metadata": {"targetPrefix": "Tiny_20200101", "serviceId": "Tiny"},
 "operations": {"PutThing": {"name": "PutThing", "input": {"shape": "PutThingRequest"}}},
 "shapes": {
  "PutThingRequest": {"type": "structure", "members": {
    "name": {"shape": "String"}, "count": {"shape": "BoxedInteger"}, "size": {"shape": "Long"},
    "enabled": {"shape": "Boolean"}, "at": {"shape": "Timestamp"}, "mode": {"shape": "Mode"},
    "labels": {"shape": "StringMap"}, "items": {"shape": "Items"}, "inner": {"shape": "Inner"}}},
  "Inner": {"type": "structure", "members": {"ratio": {"shape": "Double"}}},
  "Items": {"type": "list", "member": {"shape": "Inner"}},
  "StringMap": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "String"}},
  "Mode": {"type": "string", "enum": ["FAST_LANE", "slowLane", "x.y"]},
  "BadThing": {"type": "structure", "exception": true, "members": {"message": {"shape": "String"}}},
  "String": {"type": "string"}, "BoxedInteger": {"type": "integer", "box": true}, "Long": {"type": "long"},
  "Boolean": {"type": "boolean"}, "Timestamp": {"type": "timestamp"}, "Double": {"type": "double"}
 }}`

func TestGenerate(t *testing.T) {
	var m apiModel
	if err := json.Unmarshal([]byte(tinyModel), &m); err != nil {
		t.Fatal(err)
	}
	src, err := generate(&m, "tiny", "")
	if err != nil {
		t.Fatalf("generate: %v", err) // also fails when the output is not valid Go
	}
	out := string(src)
	for _, want := range []string{
		"Name    string            `json:\"name,omitempty\"`",
		"Count   *int32            `json:\"count,omitempty\"`",
		"Size    *int64            `json:\"size,omitempty\"`",
		"Enabled *bool             `json:\"enabled,omitempty\"`",
		"At      *Time             `json:\"at,omitempty\"`",
		"Mode    Mode              `json:\"mode,omitempty\"`",
		"Labels  map[string]string `json:\"labels,omitempty\"`",
		"Items   []Inner           `json:\"items,omitempty\"`",
		"Inner   *Inner            `json:\"inner,omitempty\"`",
		`ModeFastLane Mode = "FAST_LANE"`,
		`ModeSlowLane Mode = "slowLane"`,
		`ModeXY       Mode = "x.y"`,
		`const TargetPrefix = "Tiny_20200101"`,
		`"PutThing": true`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	if strings.Contains(out, "BadThing") {
		t.Error("exception shapes must not become types")
	}
}

func TestEnumConst(t *testing.T) {
	for in, want := range map[string]string{
		"FARGATE_SPOT": "FargateSpot", "containerInsights": "ContainerInsights",
		"ecs.capability": "EcsCapability", "EC2": "Ec2", "": "Empty",
	} {
		if got := enumConst(in); got != want {
			t.Errorf("enumConst(%q) = %q; want %q", in, got, want)
		}
	}
}
