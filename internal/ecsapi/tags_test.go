package ecsapi_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

const tagsARNPrefix = "arn:aws:ecs:us-east-1:123456789012:"

func tagsOf(kv ...string) []types.Tag {
	var out []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// tagString renders tags sorted, "k=v,k=v", for comparisons.
func tagsString(ts []types.Tag) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func tagsList(t *testing.T, c *ecs.Client, arn string) string {
	t.Helper()
	out, err := c.ListTagsForResource(context.Background(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTagsForResource(%s): %v", arn, err)
	}
	return tagsString(out.Tags)
}

func tagsTag(c *ecs.Client, arn string, ts []types.Tag) error {
	_, err := c.TagResource(context.Background(), &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: ts})
	return err
}

func tagsUntag(c *ecs.Client, arn string, keys ...string) error {
	_, err := c.UntagResource(context.Background(), &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: keys})
	return err
}

// seed writes records straight into the store, for resources whose own
// operations live elsewhere.
func tagsSeed(t *testing.T, s *ecstest.Server, kv map[string]any) {
	t.Helper()
	var ops []store.Op
	for k, v := range kv {
		ops = append(ops, state.Put(k, v))
	}
	if _, err := s.Store().Commit(context.Background(), store.Txn{Ops: ops}); err != nil {
		t.Fatal(err)
	}
}

func TestTagCluster(t *testing.T) {
	s := ecstest.Start(t)
	arn := tagsARNPrefix + "cluster/web"
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: tagsOf("team", "a")})
	if got := tagsList(t, s.Client, arn); got != "team=a" {
		t.Errorf("tags from CreateCluster = %q; want team=a", got)
	}
	if err := tagsTag(s.Client, arn, tagsOf("team", "b", "env", "prod", "empty", "")); err != nil {
		t.Fatal(err)
	}
	if got, want := tagsList(t, s.Client, arn), "empty=,env=prod,team=b"; got != want {
		t.Errorf("after TagResource tags = %q; want %q", got, want)
	}
	if got := tagsString(clustersDescribe(t, s.Client, "web", types.ClusterFieldTags).Tags); got != "empty=,env=prod,team=b" {
		t.Errorf("DescribeClusters TAGS = %q; want the tagged set", got)
	}
	if err := tagsUntag(s.Client, arn, "team", "not-there"); err != nil {
		t.Fatal(err)
	}
	if got, want := tagsList(t, s.Client, arn), "empty=,env=prod"; got != want {
		t.Errorf("after UntagResource tags = %q; want %q", got, want)
	}
	if err := tagsTag(s.Client, arn, []types.Tag{}); err != nil {
		t.Errorf("TagResource with no tags: %v; want success", err)
	}
	if err := tagsUntag(s.Client, arn, "empty", "env"); err != nil {
		t.Fatal(err)
	}
	if got := tagsList(t, s.Client, arn); got != "" {
		t.Errorf("after removing every tag = %q; want none", got)
	}
}

func TestTagLimitCountsMergedTags(t *testing.T) {
	s := ecstest.Start(t)
	arn := tagsARNPrefix + "cluster/full"
	var start []string
	for i := 0; i < 48; i++ {
		start = append(start, fmt.Sprintf("k%02d", i), "v")
	}
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("full"), Tags: tagsOf(start...)})
	before := tagsList(t, s.Client, arn)

	// Overwriting existing keys adds nothing; two new keys reach exactly 50.
	if err := tagsTag(s.Client, arn, tagsOf("k00", "new", "n1", "v", "n2", "v")); err != nil {
		t.Fatalf("tagging up to 50: %v", err)
	}
	err := tagsTag(s.Client, arn, tagsOf("n3", "v"))
	ecstest.WantCode(t, err, "LimitExceededException")
	if !strings.Contains(err.Error(), "at most 50") {
		t.Errorf("limit message = %q; want it to say at most 50", err)
	}
	after := tagsList(t, s.Client, arn)
	if strings.Contains(after, "n3=") || strings.Count(after, ",")+1 != 50 {
		t.Errorf("after the refused tag, tags = %q; want the 50 from before", after)
	}
	if after == before {
		t.Errorf("tags did not change from the accepted TagResource")
	}
}

func TestTagResourceRejectsBadTags(t *testing.T) {
	s := ecstest.Start(t)
	arn := tagsARNPrefix + "cluster/web"
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("web"), Tags: tagsOf("keep", "me")})
	fiftyOne := make([]string, 0, 102)
	for i := 0; i < 51; i++ {
		fiftyOne = append(fiftyOne, fmt.Sprintf("k%d", i), "v")
	}
	cases := []struct {
		name string
		tags []types.Tag
	}{
		{"aws: key", tagsOf("aws:cloudformation:stack", "x")},
		{"AWS: key", tagsOf("AWS:thing", "x")},
		{"empty key", tagsOf("", "x")},
		{"key too long", tagsOf(strings.Repeat("k", 129), "x")},
		{"value too long", tagsOf("k", strings.Repeat("v", 257))},
		{"duplicate key", tagsOf("k", "1", "k", "2")},
		{"hash in key", tagsOf("a#b", "x")},
		{"comma in value", tagsOf("k", "a,b")},
		{"51 tags in one call", tagsOf(fiftyOne...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ecstest.WantCode(t, tagsTag(s.Client, arn, tc.tags), "InvalidParameterException")
		})
	}
	// Unicode letters, spaces and the allowed punctuation are fine.
	if err := tagsTag(s.Client, arn, tagsOf("Kostenstelle ÄÖÜ", "a_b.c:d/e=f+g-h@i 42")); err != nil {
		t.Errorf("tag with allowed characters: %v", err)
	}
	ecstest.WantCode(t, tagsUntag(s.Client, arn, "aws:cloudformation:stack"), "InvalidParameterException")
	ecstest.WantCode(t, tagsUntag(s.Client, arn, strings.Repeat("k", 129)), "InvalidParameterException")
	if got, want := tagsList(t, s.Client, arn), "Kostenstelle ÄÖÜ=a_b.c:d/e=f+g-h@i 42,keep=me"; got != want {
		t.Errorf("tags after rejected calls = %q; want %q", got, want)
	}
}

func TestTagResourceUnknownAndMalformedARNs(t *testing.T) {
	s := ecstest.Start(t)
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("old")})
	if _, err := s.Client.DeleteCluster(context.Background(), &ecs.DeleteClusterInput{Cluster: aws.String("old")}); err != nil {
		t.Fatal(err)
	}
	id := "0123456789abcdef0123456789abcdef"
	cases := []struct {
		arn, code, msg string
	}{
		{"", "InvalidParameterException", "resourceArn is required"},
		{"web", "InvalidParameterException", "ARN provided is invalid"},
		{"arn:aws:ecr:us-east-1:123456789012:repository/web", "InvalidParameterException", "ARN provided is invalid"},
		{tagsARNPrefix + "cluster", "InvalidParameterException", "ARN provided is invalid"},
		{tagsARNPrefix + "cluster/a/b", "InvalidParameterException", "ARN provided is invalid"},
		{tagsARNPrefix + "cluster/bad name", "InvalidParameterException", "ARN provided is invalid"},
		{tagsARNPrefix + "container/web/" + id + "/x", "InvalidParameterException", "cannot be tagged"},
		{"arn:aws:ecs:eu-west-1:123456789012:cluster/web", "InvalidParameterException", "this endpoint serves region us-east-1"},
		{"arn:aws:ecs:us-east-1:999999999999:cluster/web", "InvalidParameterException", "account 123456789012"},
		{tagsARNPrefix + "cluster/nope", "ClusterNotFoundException", "nope"},
		{tagsARNPrefix + "cluster/old", "InvalidParameterException", "cluster is inactive"},
		{tagsARNPrefix + "task/" + id, "InvalidParameterException", "Long arn format"},
		{tagsARNPrefix + "task/web/" + id, "InvalidParameterException", "task does not exist"},
		{tagsARNPrefix + "task/nope/" + id, "ClusterNotFoundException", "nope"},
		{tagsARNPrefix + "task/old/" + id, "InvalidParameterException", "cluster is inactive"},
		{tagsARNPrefix + "container-instance/web/" + id, "InvalidParameterException", "container instance does not exist"},
		{tagsARNPrefix + "container-instance/" + id, "InvalidParameterException", "Long arn format"},
		{tagsARNPrefix + "service/web/api", "InvalidParameterException", "service does not exist"},
		{tagsARNPrefix + "service/api", "InvalidParameterException", "Long arn format"},
		{tagsARNPrefix + "service/nope/api", "ClusterNotFoundException", "nope"},
		{tagsARNPrefix + "capacity-provider/mine", "InvalidParameterException", "capacity provider does not exist"},
		{tagsARNPrefix + "task-definition/web:1", "ClientException", "does not exist"},
		{tagsARNPrefix + "task-definition/web", "InvalidParameterException", "ARN provided is invalid"},
		{tagsARNPrefix + "task-definition/web:zero", "InvalidParameterException", "ARN provided is invalid"},
		{tagsARNPrefix + "task-definition/web:0", "InvalidParameterException", "ARN provided is invalid"},
		{tagsARNPrefix + "task-definition/a b:1", "InvalidParameterException", "ARN provided is invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.arn, func(t *testing.T) {
			calls := map[string]error{
				"TagResource":   tagsTag(s.Client, tc.arn, tagsOf("k", "v")),
				"UntagResource": tagsUntag(s.Client, tc.arn, "k"),
			}
			_, calls["ListTagsForResource"] = s.Client.ListTagsForResource(context.Background(), &ecs.ListTagsForResourceInput{ResourceArn: aws.String(tc.arn)})
			for op, err := range calls {
				if got := ecstest.ErrorCode(err); got != tc.code {
					t.Errorf("%s: error = %v; want code %s", op, err, tc.code)
					continue
				}
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("%s: message = %q; want it to contain %q", op, err, tc.msg)
				}
			}
		})
	}
	if got := tagsList(t, s.Client, tagsARNPrefix+"cluster/web"); got != "" {
		t.Errorf("tags of web after failed calls = %q; want none", got)
	}
}

func TestTagTaskDefinitionTaskAndInstance(t *testing.T) {
	s := ecstest.Start(t)
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	const taskID, stoppedID, instID = "11111111111111111111111111111111", "22222222222222222222222222222222", "33333333333333333333333333333333"
	tdARN := tagsARNPrefix + "task-definition/app:3"
	taskARN := tagsARNPrefix + "task/web/" + taskID
	stoppedARN := tagsARNPrefix + "task/web/" + stoppedID
	instARN := tagsARNPrefix + "container-instance/web/" + instID
	tagsSeed(t, s, map[string]any{
		state.TaskDefKey("app", 3): state.TaskDefinition{
			TaskDefinition: model.TaskDefinition{TaskDefinitionArn: tdARN, Family: "app", Revision: model.Ptr(int32(3)), Status: model.TaskDefinitionStatusActive},
			Tags:           []model.Tag{{Key: "owner", Value: "ops"}},
		},
		state.TaskKey("web", taskID): state.Task{Task: model.Task{
			TaskArn: taskARN, ClusterArn: tagsARNPrefix + "cluster/web", LastStatus: "RUNNING", DesiredStatus: "RUNNING",
		}},
		state.TaskKey("web", stoppedID): state.Task{Task: model.Task{
			TaskArn: stoppedARN, ClusterArn: tagsARNPrefix + "cluster/web", LastStatus: "STOPPED", DesiredStatus: "STOPPED",
			Tags: []model.Tag{{Key: "left", Value: "over"}},
		}},
		state.InstanceKey("web", instID): state.ContainerInstance{
			ContainerInstance: model.ContainerInstance{ContainerInstanceArn: instARN, Status: "ACTIVE"},
			Cluster:           "web", ID: instID,
		},
	})
	for _, arn := range []string{tdARN, taskARN, instARN} {
		if err := tagsTag(s.Client, arn, tagsOf("stage", "beta")); err != nil {
			t.Fatalf("TagResource(%s): %v", arn, err)
		}
	}
	if got, want := tagsList(t, s.Client, tdARN), "owner=ops,stage=beta"; got != want {
		t.Errorf("task definition tags = %q; want %q", got, want)
	}
	if got := tagsList(t, s.Client, taskARN); got != "stage=beta" {
		t.Errorf("task tags = %q; want stage=beta", got)
	}
	if got := tagsList(t, s.Client, instARN); got != "stage=beta" {
		t.Errorf("container instance tags = %q; want stage=beta", got)
	}

	// The tags live in the resource's own record, beside everything else in it.
	td, _, err := state.Get[state.TaskDefinition](context.Background(), s.Store(), state.TaskDefKey("app", 3))
	if err != nil {
		t.Fatal(err)
	}
	if len(td.Tags) != 2 || td.TaskDefinition.Family != "app" {
		t.Errorf("stored task definition = %+v; want family app with 2 tags", td)
	}

	// A stopped task takes no new tags, but what it has can be listed and removed.
	ecstest.WantCode(t, tagsTag(s.Client, stoppedARN, tagsOf("k", "v")), "InvalidParameterException")
	if err := tagsUntag(s.Client, stoppedARN, "left"); err != nil {
		t.Errorf("UntagResource of a stopped task: %v", err)
	}
	if got := tagsList(t, s.Client, stoppedARN); got != "" {
		t.Errorf("stopped task tags = %q; want none", got)
	}

	if err := tagsUntag(s.Client, tdARN, "owner"); err != nil {
		t.Fatal(err)
	}
	if got := tagsList(t, s.Client, tdARN); got != "stage=beta" {
		t.Errorf("task definition tags after untag = %q; want stage=beta", got)
	}
}

func TestTagResourceConcurrentWritersAllLand(t *testing.T) {
	s := ecstest.Start(t)
	arn := tagsARNPrefix + "cluster/busy"
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("busy")})
	const writers = 16
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- tagsTag(s.Client, arn, tagsOf(fmt.Sprintf("w%02d", i), "x"))
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent TagResource: %v", err)
		}
	}
	got := tagsList(t, s.Client, arn)
	if n := strings.Count(got, "=x"); n != writers {
		t.Errorf("after %d concurrent writers the cluster has %d tags (%s); want every one (lost update?)", writers, n, got)
	}
}

// Tags given when resources are created are the ones the tag operations see,
// and tags added later show in each resource's Describe with include TAGS.
func TestTagsThroughResourceOperations(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	td, err := s.Client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("app"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("main"), Image: aws.String("wharf-testapp:latest"), Memory: aws.Int32(64), Cpu: 64,
		}},
		Tags: tagsOf("from", "register"),
	})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String("web"),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1024},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 1024},
		},
		Tags: tagsOf("from", "agent"),
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.Client.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String("web"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn, Tags: tagsOf("from", "run"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 1 {
		t.Fatalf("RunTask placed %d tasks (failures %+v); want 1", len(run.Tasks), run.Failures)
	}
	tdARN := aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	instARN := aws.ToString(inst.ContainerInstance.ContainerInstanceArn)
	taskARN := aws.ToString(run.Tasks[0].TaskArn)
	for arn, want := range map[string]string{tdARN: "from=register", instARN: "from=agent", taskARN: "from=run"} {
		if got := tagsList(t, s.Client, arn); got != want {
			t.Errorf("tags of %s = %q; want %q", arn, got, want)
		}
		if err := tagsTag(s.Client, arn, tagsOf("added", "later")); err != nil {
			t.Fatalf("TagResource(%s): %v", arn, err)
		}
	}

	dtd, err := s.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(tdARN), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagsString(dtd.Tags); got != "added=later,from=register" {
		t.Errorf("DescribeTaskDefinition tags = %q; want added=later,from=register", got)
	}
	dci, err := s.Client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String("web"), ContainerInstances: []string{instARN}, Include: []types.ContainerInstanceField{types.ContainerInstanceFieldTags},
	})
	if err != nil || len(dci.ContainerInstances) != 1 {
		t.Fatalf("DescribeContainerInstances: %v (%+v)", err, dci)
	}
	if got := tagsString(dci.ContainerInstances[0].Tags); got != "added=later,from=agent" {
		t.Errorf("DescribeContainerInstances tags = %q; want added=later,from=agent", got)
	}
	dt, err := s.Client.DescribeTasks(ctx, &ecs.DescribeTasksInput{
		Cluster: aws.String("web"), Tasks: []string{taskARN}, Include: []types.TaskField{types.TaskFieldTags},
	})
	if err != nil || len(dt.Tasks) != 1 {
		t.Fatalf("DescribeTasks: %v (%+v)", err, dt)
	}
	if got := tagsString(dt.Tasks[0].Tags); got != "added=later,from=run" {
		t.Errorf("DescribeTasks tags = %q; want added=later,from=run", got)
	}
}
