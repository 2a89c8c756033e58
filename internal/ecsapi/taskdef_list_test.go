package ecsapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// tdListAll follows every page of ListTaskDefinitions with the SDK's paginator.
func tdListAll(t *testing.T, c *ecs.Client, in *ecs.ListTaskDefinitionsInput) []string {
	t.Helper()
	var out []string
	p := ecs.NewListTaskDefinitionsPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListTaskDefinitions(%+v): %v", in, err)
		}
		out = append(out, page.TaskDefinitionArns...)
	}
	return out
}

func tdFamiliesAll(t *testing.T, c *ecs.Client, in *ecs.ListTaskDefinitionFamiliesInput) []string {
	t.Helper()
	var out []string
	p := ecs.NewListTaskDefinitionFamiliesPaginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListTaskDefinitionFamilies(%+v): %v", in, err)
		}
		out = append(out, page.Families...)
	}
	return out
}

func tdARNs(refs ...string) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = tdARNPrefix + r
	}
	return out
}

// tdFixture registers api:1-2, web:1-3 and web-2:1-2, then deregisters
// web:2 and both web-2 revisions.
func tdFixture(t *testing.T, c *ecs.Client) {
	t.Helper()
	for _, f := range []string{"web", "api", "web-2", "web", "api", "web-2", "web"} {
		tdRegister(t, c, tdMinimal(f))
	}
	for _, ref := range []string{"web:2", "web-2:1", "web-2:2"} {
		tdDeregister(t, c, ref)
	}
}

func TestListTaskDefinitions(t *testing.T) {
	s := ecstest.Start(t)
	tdFixture(t, s.Client)
	active := tdARNs("api:1", "api:2", "web:1", "web:3")
	desc := slices.Clone(active)
	slices.Reverse(desc)
	for _, tc := range []struct {
		name string
		in   ecs.ListTaskDefinitionsInput
		want []string
	}{
		{"default ACTIVE ASC", ecs.ListTaskDefinitionsInput{}, active},
		{"pages of 1", ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(1)}, active},
		{"DESC", ecs.ListTaskDefinitionsInput{Sort: types.SortOrderDesc}, desc},
		{"DESC pages of 3", ecs.ListTaskDefinitionsInput{Sort: types.SortOrderDesc, MaxResults: aws.Int32(3)}, desc},
		{"INACTIVE", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}, tdARNs("web:2", "web-2:1", "web-2:2")},
		{"INACTIVE DESC pages of 2", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive, Sort: types.SortOrderDesc, MaxResults: aws.Int32(2)},
			tdARNs("web-2:2", "web-2:1", "web:2")},
		{"family is matched whole", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")}, tdARNs("web:1", "web:3")},
		{"family INACTIVE", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web-2"), Status: types.TaskDefinitionStatusInactive}, tdARNs("web-2:1", "web-2:2")},
		{"unknown family", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("we")}, nil},
		{"DELETE_IN_PROGRESS", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusDeleteInProgress}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tdListAll(t, s.Client, &tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}

	ctx := context.Background()
	first, err := s.Client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(4)})
	if err != nil {
		t.Fatal(err)
	}
	if first.NextToken != nil {
		t.Errorf("a page holding the last match returned nextToken %q; ECS omits it", *first.NextToken)
	}
	page, err := s.Client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(2)})
	if err != nil || page.NextToken == nil {
		t.Fatalf("first page of 2: %v, nextToken %v", err, page)
	}
	_, err = s.Client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("api"), NextToken: page.NextToken})
	ecstest.WantCode(t, err, "InvalidParameterException")
	for _, in := range []*ecs.ListTaskDefinitionsInput{
		{MaxResults: aws.Int32(0)},
		{MaxResults: aws.Int32(101)},
		{NextToken: aws.String("not-a-token")},
		{Status: "GONE"},
		{Sort: "UP"},
		{FamilyPrefix: aws.String("bad name")},
	} {
		_, err := s.Client.ListTaskDefinitions(ctx, in)
		ecstest.WantCode(t, err, "InvalidParameterException")
	}
}

func TestListTaskDefinitionFamilies(t *testing.T) {
	s := ecstest.Start(t)
	tdFixture(t, s.Client)
	for _, tc := range []struct {
		name string
		in   ecs.ListTaskDefinitionFamiliesInput
		want []string
	}{
		{"default lists ACTIVE and INACTIVE", ecs.ListTaskDefinitionFamiliesInput{}, []string{"api", "web", "web-2"}},
		{"ALL pages of 1", ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusAll, MaxResults: aws.Int32(1)}, []string{"api", "web", "web-2"}},
		{"ACTIVE", ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusActive}, []string{"api", "web"}},
		{"INACTIVE", ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusInactive}, []string{"web-2"}},
		{"prefix", ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("web")}, []string{"web", "web-2"}},
		{"prefix ACTIVE pages of 1", ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("we"), Status: types.TaskDefinitionFamilyStatusActive, MaxResults: aws.Int32(1)}, []string{"web"}},
		{"no match", ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("x")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tdFamiliesAll(t, s.Client, &tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("got %v; want %v", got, tc.want)
			}
		})
	}

	// Deleting the last revisions of web-2 takes the family out of the
	// listing; registering again brings it back with a fresh revision.
	if _, err := s.Client.DeleteTaskDefinitions(context.Background(), &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"web-2:1", "web-2:2"}}); err != nil {
		t.Fatal(err)
	}
	if got := tdFamiliesAll(t, s.Client, &ecs.ListTaskDefinitionFamiliesInput{}); !slices.Equal(got, []string{"api", "web"}) {
		t.Errorf("after deleting web-2's revisions: families = %v; want [api web]", got)
	}
	if got := tdRegister(t, s.Client, tdMinimal("web-2")).TaskDefinition.Revision; got != 3 {
		t.Errorf("web-2 registered again as revision %d; want 3", got)
	}
	for _, in := range []*ecs.ListTaskDefinitionFamiliesInput{{Status: "SOME"}, {MaxResults: aws.Int32(-1)}, {FamilyPrefix: aws.String("a/b")}} {
		_, err := s.Client.ListTaskDefinitionFamilies(context.Background(), in)
		ecstest.WantCode(t, err, "InvalidParameterException")
	}
}

func TestDeregisterTaskDefinition(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tdRegister(t, s.Client, tdMinimal("web"))
	tdRegister(t, s.Client, tdMinimal("web"))
	td := tdDeregister(t, s.Client, tdARNPrefix+"web:2")
	if td.Status != types.TaskDefinitionStatusInactive || td.DeregisteredAt == nil || td.Revision != 2 {
		t.Fatalf("deregistered = status %s, deregisteredAt %v, revision %d; want INACTIVE, set, 2", td.Status, td.DeregisteredAt, td.Revision)
	}
	if again := tdDeregister(t, s.Client, "web:2"); !again.DeregisteredAt.Equal(*td.DeregisteredAt) {
		t.Errorf("deregistering again moved deregisteredAt from %v to %v", td.DeregisteredAt, again.DeregisteredAt)
	}
	if got := tdDescribe(t, s.Client, "web").TaskDefinition.Revision; got != 1 {
		t.Errorf("describe family = revision %d; want 1, the latest ACTIVE", got)
	}
	if got := tdDescribe(t, s.Client, "web:2").TaskDefinition.Status; got != types.TaskDefinitionStatusInactive {
		t.Errorf("describe web:2 status = %s; want INACTIVE", got)
	}
	tdDeregister(t, s.Client, "web:1")
	for _, tc := range []struct{ op, ref, code string }{
		{"describe", "web", "ClientException"},   // no ACTIVE revision left
		{"describe", "web:9", "ClientException"}, // no such revision
		{"describe", "nope", "ClientException"},
		{"describe", "web:x", "ClientException"},
		{"describe", "arn:aws:ecs:us-east-1:123456789012:cluster/web", "ClientException"},
		{"deregister", "web", "ClientException"}, // a revision is required
		{"deregister", "web:9", "ClientException"},
	} {
		var err error
		if tc.op == "describe" {
			_, err = s.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tc.ref)})
		} else {
			_, err = s.Client.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(tc.ref)})
		}
		ecstest.WantCode(t, err, tc.code)
	}
	_, err := s.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1"), Include: []types.TaskDefinitionField{"LABELS"}})
	ecstest.WantCode(t, err, "InvalidParameterException")
}

func TestDeleteTaskDefinitions(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	for range 4 {
		tdRegister(t, s.Client, tdMinimal("job"))
	}
	for _, ref := range []string{"job:1", "job:2", "job:3"} {
		tdDeregister(t, s.Client, ref)
	}
	// A task that has not stopped keeps job:3 from being removed.
	running := state.Task{Task: model.Task{TaskArn: "arn:aws:ecs:us-east-1:123456789012:task/default/abc",
		TaskDefinitionArn: tdARNPrefix + "job:3", LastStatus: "RUNNING"}}
	taskKey := state.TaskKey("default", "abc")
	if _, err := s.Store().Commit(ctx, store.Txn{Ops: []store.Op{state.Put(taskKey, running)}}); err != nil {
		t.Fatal(err)
	}

	out, err := s.Client.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{
		TaskDefinitions: []string{"job:1", tdARNPrefix + "job:3", "job:4", "job:9", "job", "bad name:1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, td := range out.TaskDefinitions {
		deleted = append(deleted, aws.ToString(td.TaskDefinitionArn))
		if td.Status != types.TaskDefinitionStatusDeleteInProgress || td.DeleteRequestedAt == nil {
			t.Errorf("%s: status %s, deleteRequestedAt %v; want DELETE_IN_PROGRESS, set", aws.ToString(td.TaskDefinitionArn), td.Status, td.DeleteRequestedAt)
		}
	}
	if want := tdARNs("job:1", "job:3"); !slices.Equal(deleted, want) {
		t.Errorf("deleted %v; want %v", deleted, want)
	}
	reasons := map[string]string{}
	for _, f := range out.Failures {
		reasons[aws.ToString(f.Arn)] = aws.ToString(f.Reason)
		if aws.ToString(f.Detail) == "" {
			t.Errorf("failure for %s has no detail", aws.ToString(f.Arn))
		}
	}
	wantReasons := map[string]string{tdARNPrefix + "job:4": "ACTIVE", tdARNPrefix + "job:9": "MISSING", "job": "INVALID", "bad name:1": "INVALID"}
	if tdJSON(t, reasons) != tdJSON(t, wantReasons) {
		t.Errorf("failure reasons = %v; want %v", reasons, wantReasons)
	}
	_, err = s.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("job:1")})
	ecstest.WantCode(t, err, "ClientException")
	if got := tdListAll(t, s.Client, &ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusDeleteInProgress}); !slices.Equal(got, tdARNs("job:3")) {
		t.Errorf("DELETE_IN_PROGRESS = %v; want only job:3, which a task still uses", got)
	}
	_, err = s.Client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("job:3")})
	ecstest.WantCode(t, err, "ClientException")
	_, err = s.Client.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("job:3")})
	ecstest.WantCode(t, err, "ClientException")

	// Once the task stops, the next DeleteTaskDefinitions call finishes job:3.
	running.LastStatus = "STOPPED"
	if _, err := s.Store().Commit(ctx, store.Txn{Ops: []store.Op{state.Put(taskKey, running)}}); err != nil {
		t.Fatal(err)
	}
	out, err = s.Client.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"job:2"}})
	if err != nil || len(out.TaskDefinitions) != 1 {
		t.Fatalf("delete job:2: %v, %+v", err, out)
	}
	if got := tdListAll(t, s.Client, &ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusDeleteInProgress}); len(got) != 0 {
		t.Errorf("DELETE_IN_PROGRESS after the task stopped = %v; want none", got)
	}
	if got := tdListAll(t, s.Client, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("job")}); !slices.Equal(got, tdARNs("job:4")) {
		t.Errorf("remaining ACTIVE = %v; want [job:4]", got)
	}

	_, err = s.Client.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: strings.Split("a:1,a:2,a:3,a:4,a:5,a:6,a:7,a:8,a:9,a:10,a:11", ",")})
	ecstest.WantCode(t, err, "InvalidParameterException")
	_, err = s.Client.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{}})
	ecstest.WantCode(t, err, "InvalidParameterException")
}

// The store keeps what the API wrote; a raw look confirms the family record
// was not disturbed by deletions (revision numbers stay reserved).
func TestFamilyRecordKeepsLastRevision(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	tdRegister(t, s.Client, tdMinimal("solo"))
	tdDeregister(t, s.Client, "solo:1")
	if _, err := s.Client.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"solo:1"}}); err != nil {
		t.Fatal(err)
	}
	kv, err := s.Store().Get(ctx, state.FamilyKey("solo"))
	if err != nil {
		t.Fatal(err)
	}
	var fam state.Family
	if err := json.Unmarshal(kv.Value, &fam); err != nil {
		t.Fatal(err)
	}
	if fam.LastRevision != 1 || fam.ActiveRevision != 0 {
		t.Errorf("family record = %+v; want lastRevision 1, no ACTIVE revisions", fam)
	}
}
