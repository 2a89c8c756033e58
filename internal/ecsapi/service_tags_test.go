package ecsapi_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/model"
)

func TestServiceTasksCarryPropagatedTags(t *testing.T) {
	cl := svStartCluster(t, "us-east-1a")
	td := svTD(t, cl.c, "web", "wharf-testapp:latest")
	in := svService("web", td, 1)
	in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}
	in.PropagateTags = types.PropagateTagsService
	in.EnableECSManagedTags = true
	svCreate(t, cl.c, in)
	cl.waitSteady(t, "web", 1, 20*time.Second)
	fromTD := svService("fromtd", td, 1)
	fromTD.PropagateTags = types.PropagateTagsTaskDefinition
	svCreate(t, cl.c, fromTD)
	cl.waitSteady(t, "fromtd", 1, 20*time.Second)

	for _, tc := range []struct {
		service string
		want    map[string]string
	}{
		{"web", map[string]string{"team": "blue", "aws:ecs:clusterName": "default", "aws:ecs:serviceName": "web"}},
		{"fromtd", map[string]string{"from": "taskdef"}},
	} {
		ts := running(cl.tasks(t, tc.service))
		if len(ts) != 1 {
			t.Fatalf("service %s runs %d tasks; want 1", tc.service, len(ts))
		}
		if got := tagMap(ts[0].Tags); !sameTags(got, tc.want) {
			t.Errorf("task of service %s has tags %v; want %v", tc.service, got, tc.want)
		}
	}
}

func tagMap(tags []model.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func sameTags(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
