package awslogs

import (
	"testing"

	"github.com/wharf-ecs/wharf/internal/model"
)

func TestStreamNames(t *testing.T) {
	c := Config{Group: "/ecs/web", StreamPrefix: "web"}
	if got := c.StreamName("app", "0123abcd", "f00d"); got != "web/app/0123abcd" {
		t.Errorf("StreamName with a prefix = %q", got)
	}
	if got := (Config{Group: "g"}).StreamName("app", "0123abcd", "f00d"); got != "f00d" {
		t.Errorf("StreamName without a prefix = %q; want the container ID", got)
	}
	for _, c := range []struct {
		name                      string
		prefix, container, taskID string
		ok                        bool
	}{
		{"web/app/0123", "web", "app", "0123", true},
		{"a/b/web/app/0123", "a/b/web", "app", "0123", true},
		{"app/0123", "", "", "", false},
		{"/app/0123", "", "", "", false},
		{"web//0123", "", "", "", false},
		{"web/app/", "", "", "", false},
		{"f00dcafe", "", "", "", false},
	} {
		p, ctr, id, ok := ParseStream(c.name)
		if p != c.prefix || ctr != c.container || id != c.taskID || ok != c.ok {
			t.Errorf("ParseStream(%q) = %q %q %q %v; want %q %q %q %v", c.name, p, ctr, id, ok, c.prefix, c.container, c.taskID, c.ok)
		}
	}
}

func TestOptions(t *testing.T) {
	cd := &model.ContainerDefinition{Name: "app", LogConfiguration: &model.LogConfiguration{LogDriver: "awslogs",
		Options: map[string]string{OptGroup: "g", OptRegion: "us-east-1", OptStreamPrefix: "p", OptCreateGroup: "true"}}}
	cfg, ok, err := Of(cd)
	if err != nil || !ok || cfg != (Config{Group: "g", Region: "us-east-1", StreamPrefix: "p", CreateGroup: true}) {
		t.Errorf("Of = %+v %v %v", cfg, ok, err)
	}
	if _, ok, err := Of(&model.ContainerDefinition{Name: "x", LogConfiguration: &model.LogConfiguration{LogDriver: "json-file"}}); ok || err != nil {
		t.Errorf("json-file: ok %v err %v", ok, err)
	}
	for _, bad := range []map[string]string{
		{OptStreamPrefix: "p"},
		{OptGroup: "g", OptCreateGroup: "yes please"},
		{OptGroup: "g", OptStreamPrefix: "a:b"},
	} {
		if _, err := FromOptions(bad); err == nil {
			t.Errorf("FromOptions(%v) accepted", bad)
		}
	}
}
