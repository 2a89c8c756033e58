package ecsapi_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/wharf-ecs/wharf/internal/ecstest"
)

func TestDescribeContainerInstances(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c")
	ciCreateCluster(t, s, "other")
	out, err := s.Client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster: aws.String("c"), TotalResources: ciAgentResources(),
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := out.ContainerInstance
	b := ciRegister(t, s, "c")
	foreign := ciRegister(t, s, "other")
	aARN, bID := aws.ToString(a.ContainerInstanceArn), ciInstanceID(aws.ToString(b.ContainerInstanceArn))
	missingID := "0123456789abcdef0123456789abcdef"

	desc, err := s.Client.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
		Cluster:            aws.String("c"),
		ContainerInstances: []string{aARN, bID, missingID, aws.ToString(foreign.ContainerInstanceArn)},
	})
	if err != nil {
		t.Fatalf("DescribeContainerInstances: %v", err)
	}
	var got []string
	for _, ci := range desc.ContainerInstances {
		got = append(got, aws.ToString(ci.ContainerInstanceArn))
		if ci.Tags != nil || ci.HealthStatus != nil {
			t.Errorf("%s: tags %v health %v without include; want neither", aws.ToString(ci.ContainerInstanceArn), ci.Tags, ci.HealthStatus)
		}
	}
	if want := []string{aARN, aws.ToString(b.ContainerInstanceArn)}; !slices.Equal(got, want) {
		t.Errorf("described %v; want %v", got, want)
	}
	if len(desc.Failures) != 2 {
		t.Fatalf("failures = %+v; want the unknown ID and the other cluster's instance", desc.Failures)
	}
	wantMissing := "arn:aws:ecs:us-east-1:123456789012:container-instance/c/" + missingID
	if f := desc.Failures[0]; aws.ToString(f.Reason) != "MISSING" || aws.ToString(f.Arn) != wantMissing {
		t.Errorf("failure = %s %s; want MISSING %s", aws.ToString(f.Reason), aws.ToString(f.Arn), wantMissing)
	}
	if f := desc.Failures[1]; aws.ToString(f.Reason) != "MISSING" || aws.ToString(f.Arn) != aws.ToString(foreign.ContainerInstanceArn) {
		t.Errorf("failure = %s %s; want MISSING for the other cluster's ARN", aws.ToString(f.Reason), aws.ToString(f.Arn))
	}

	ci := ciDescribe(t, s, "c", aARN, types.ContainerInstanceFieldTags, types.ContainerInstanceFieldContainerInstanceHealth)
	if len(ci.Tags) != 1 || aws.ToString(ci.Tags[0].Key) != "env" {
		t.Errorf("tags with include TAGS = %+v; want env=test", ci.Tags)
	}
	if ci.HealthStatus == nil || ci.HealthStatus.OverallStatus != types.InstanceHealthCheckStateOk ||
		len(ci.HealthStatus.Details) != 1 || ci.HealthStatus.Details[0].Type != types.InstanceHealthCheckTypeAgentConnectivity ||
		ci.HealthStatus.Details[0].LastUpdated == nil {
		t.Errorf("healthStatus = %+v; want OK from agent connectivity with lastUpdated", ci.HealthStatus)
	}

	many := make([]string, 101)
	for i := range many {
		many[i] = bID
	}
	for _, tt := range []struct {
		name string
		in   ecs.DescribeContainerInstancesInput
		code string
	}{
		{"none", ecs.DescribeContainerInstancesInput{Cluster: aws.String("c"), ContainerInstances: []string{}}, "InvalidParameterException"},
		{"101", ecs.DescribeContainerInstancesInput{Cluster: aws.String("c"), ContainerInstances: many}, "InvalidParameterException"},
		{"bad include", ecs.DescribeContainerInstancesInput{Cluster: aws.String("c"), ContainerInstances: []string{bID}, Include: []types.ContainerInstanceField{"EVERYTHING"}}, "InvalidParameterException"},
		{"unknown cluster", ecs.DescribeContainerInstancesInput{Cluster: aws.String("nope"), ContainerInstances: []string{bID}}, "ClusterNotFoundException"},
	} {
		_, err := s.Client.DescribeContainerInstances(ctx, &tt.in)
		if code := ecstest.ErrorCode(err); code != tt.code {
			t.Errorf("%s: error %v; want %s", tt.name, err, tt.code)
		}
	}
}

func TestListContainerInstancesPagination(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c")
	var want []string
	for range 5 {
		want = append(want, aws.ToString(ciRegister(t, s, "c").ContainerInstanceArn))
	}
	slices.Sort(want)

	var got []string
	pages := 0
	p := ecs.NewListContainerInstancesPaginator(s.Client, &ecs.ListContainerInstancesInput{Cluster: aws.String("c"), MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		if len(page.ContainerInstanceArns) > 2 {
			t.Errorf("page %d has %d ARNs; want at most 2", pages+1, len(page.ContainerInstanceArns))
		}
		got = append(got, page.ContainerInstanceArns...)
		pages++
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("paged through %d pages: %v; want 3 pages with %v", pages, got, want)
	}

	if _, err := s.Client.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String("c"), ContainerInstances: []string{want[1], want[3]}, Status: types.ContainerInstanceStatusDraining,
	}); err != nil {
		t.Fatal(err)
	}
	if got := ciList(t, s, "c", types.ContainerInstanceStatusDraining); !slices.Equal(got, []string{want[1], want[3]}) {
		t.Errorf("DRAINING instances = %v; want %v", got, []string{want[1], want[3]})
	}
	if got := ciList(t, s, "c", types.ContainerInstanceStatusActive); len(got) != 3 {
		t.Errorf("ACTIVE instances = %v; want 3", got)
	}
	if got := ciList(t, s, "c", types.ContainerInstanceStatusRegistering); len(got) != 0 {
		t.Errorf("REGISTERING instances = %v; want none", got)
	}

	first, err := s.Client.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("c"), MaxResults: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	ciCreateCluster(t, s, "d")
	for _, tt := range []struct {
		name string
		in   ecs.ListContainerInstancesInput
		code string
	}{
		{"filter syntax", ecs.ListContainerInstancesInput{Cluster: aws.String("c"), Filter: aws.String("attribute:ecs.instance-type t2.small")}, "InvalidParameterException"},
		{"filter subject", ecs.ListContainerInstancesInput{Cluster: aws.String("c"), Filter: aws.String("instanceId == i-1")}, "InvalidParameterException"},
		{"INACTIVE status", ecs.ListContainerInstancesInput{Cluster: aws.String("c"), Status: "INACTIVE"}, "InvalidParameterException"},
		{"maxResults 0", ecs.ListContainerInstancesInput{Cluster: aws.String("c"), MaxResults: aws.Int32(0)}, "InvalidParameterException"},
		{"maxResults 101", ecs.ListContainerInstancesInput{Cluster: aws.String("c"), MaxResults: aws.Int32(101)}, "InvalidParameterException"},
		{"garbage token", ecs.ListContainerInstancesInput{Cluster: aws.String("c"), NextToken: aws.String("!!")}, "InvalidParameterException"},
		{"another cluster's token", ecs.ListContainerInstancesInput{Cluster: aws.String("d"), NextToken: first.NextToken}, "InvalidParameterException"},
		{"unknown cluster", ecs.ListContainerInstancesInput{Cluster: aws.String("nope")}, "ClusterNotFoundException"},
	} {
		_, err := s.Client.ListContainerInstances(ctx, &tt.in)
		if code := ecstest.ErrorCode(err); code != tt.code {
			t.Errorf("%s: error %v; want %s", tt.name, err, tt.code)
		}
	}
}

func TestUpdateContainerInstancesState(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c")
	a := ciRegister(t, s, "c")
	b := ciRegister(t, s, "c")
	gone := ciRegister(t, s, "c")
	if _, err := s.Client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: gone.ContainerInstanceArn}); err != nil {
		t.Fatal(err)
	}
	aARN, bID := aws.ToString(a.ContainerInstanceArn), ciInstanceID(aws.ToString(b.ContainerInstanceArn))
	missingID := "0123456789abcdef0123456789abcdef"

	update := func(status types.ContainerInstanceStatus, refs ...string) *ecs.UpdateContainerInstancesStateOutput {
		t.Helper()
		out, err := s.Client.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("c"), ContainerInstances: refs, Status: status})
		if err != nil {
			t.Fatalf("UpdateContainerInstancesState %s: %v", status, err)
		}
		return out
	}
	out := update(types.ContainerInstanceStatusDraining, aARN, bID, missingID, aws.ToString(gone.ContainerInstanceArn))
	if len(out.ContainerInstances) != 2 {
		t.Fatalf("updated %d instances; want 2", len(out.ContainerInstances))
	}
	for _, ci := range out.ContainerInstances {
		if aws.ToString(ci.Status) != "DRAINING" || ci.Version != 2 {
			t.Errorf("%s: status %s version %d; want DRAINING 2", aws.ToString(ci.ContainerInstanceArn), aws.ToString(ci.Status), ci.Version)
		}
	}
	reasons := map[string]string{}
	for _, f := range out.Failures {
		reasons[aws.ToString(f.Arn)] = aws.ToString(f.Reason)
	}
	wantReasons := map[string]string{
		"arn:aws:ecs:us-east-1:123456789012:container-instance/c/" + missingID: "MISSING",
		aws.ToString(gone.ContainerInstanceArn):                                "INACTIVE",
	}
	if fmt.Sprint(reasons) != fmt.Sprint(wantReasons) {
		t.Errorf("failures = %v; want %v", reasons, wantReasons)
	}
	if got := ciDescribe(t, s, "c", aARN); aws.ToString(got.Status) != "DRAINING" {
		t.Errorf("Describe after draining: %s; want DRAINING", aws.ToString(got.Status))
	}

	// The same status again changes nothing.
	out = update(types.ContainerInstanceStatusDraining, aARN)
	if out.ContainerInstances[0].Version != 2 {
		t.Errorf("version after a no-op update = %d; want 2", out.ContainerInstances[0].Version)
	}
	out = update(types.ContainerInstanceStatusActive, aARN)
	if ci := out.ContainerInstances[0]; aws.ToString(ci.Status) != "ACTIVE" || ci.Version != 3 {
		t.Errorf("back to ACTIVE: status %s version %d; want ACTIVE 3", aws.ToString(ci.Status), ci.Version)
	}

	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = bID
	}
	for _, tt := range []struct {
		name string
		in   ecs.UpdateContainerInstancesStateInput
		code string
		msg  string
	}{
		{"REGISTERING", ecs.UpdateContainerInstancesStateInput{ContainerInstances: []string{bID}, Status: types.ContainerInstanceStatusRegistering}, "InvalidParameterException", "Container instance status should be one of [ACTIVE, DRAINING]"},
		{"INACTIVE", ecs.UpdateContainerInstancesStateInput{ContainerInstances: []string{bID}, Status: "INACTIVE"}, "InvalidParameterException", "should be one of [ACTIVE, DRAINING]"},
		{"none", ecs.UpdateContainerInstancesStateInput{ContainerInstances: []string{}, Status: types.ContainerInstanceStatusActive}, "InvalidParameterException", "containerInstances is required"},
		{"eleven", ecs.UpdateContainerInstancesStateInput{ContainerInstances: eleven, Status: types.ContainerInstanceStatusActive}, "InvalidParameterException", "at most 10"},
		{"malformed", ecs.UpdateContainerInstancesStateInput{ContainerInstances: []string{bID, "arn:aws:ecs:x"}, Status: types.ContainerInstanceStatusActive}, "InvalidParameterException", "Invalid container instance"},
	} {
		in := tt.in
		in.Cluster = aws.String("c")
		_, err := s.Client.UpdateContainerInstancesState(ctx, &in)
		if code := ecstest.ErrorCode(err); code != tt.code || !strings.Contains(fmt.Sprint(err), tt.msg) {
			t.Errorf("%s: error %v; want %s saying %q", tt.name, err, tt.code, tt.msg)
		}
	}
	// The SDK refuses to send a request without status; other clients may.
	if code, msg := ciRawCall(t, s, "UpdateContainerInstancesState", `{"cluster":"c","containerInstances":["`+bID+`"]}`); code != "InvalidParameterException" || !strings.Contains(msg, "status is required") {
		t.Errorf("no status: %s %q; want InvalidParameterException saying status is required", code, msg)
	}
	if got := ciDescribe(t, s, "c", bID); aws.ToString(got.Status) != "DRAINING" || got.Version != 2 {
		t.Errorf("refused updates changed instance b: status %s version %d; want DRAINING 2", aws.ToString(got.Status), got.Version)
	}
}

func TestContainerInstancesSurviveRestart(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c")
	ci := ciRegister(t, s, "c")
	arn := aws.ToString(ci.ContainerInstanceArn)
	if _, err := s.Client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("c"), Attributes: []types.Attribute{
		{Name: aws.String("zone"), Value: aws.String("z1"), TargetId: aws.String(arn)},
	}}); err != nil {
		t.Fatal(err)
	}
	before := ciDescribe(t, s, "c", arn)
	s.Stop()

	s = ecstest.StartWith(t, ecstest.Options{DataDir: s.DataDir})
	if got := ciList(t, s, "c", ""); !slices.Equal(got, []string{arn}) {
		t.Fatalf("after restart ListContainerInstances = %v; want [%s]", got, arn)
	}
	after := ciDescribe(t, s, "c", arn)
	if after.Version != before.Version || aws.ToString(after.Ec2InstanceId) != aws.ToString(before.Ec2InstanceId) ||
		ciResource(after.RegisteredResources, "MEMORY").IntegerValue != 3768 {
		t.Errorf("after restart: version %d ec2 %s memory %d; want %d %s 3768", after.Version, aws.ToString(after.Ec2InstanceId),
			ciResource(after.RegisteredResources, "MEMORY").IntegerValue, before.Version, aws.ToString(before.Ec2InstanceId))
	}
	if v, _ := ciAttrValue(after.Attributes, "zone"); v != "z1" {
		t.Errorf("attribute zone after restart = %q; want z1", v)
	}
}
