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

func ciAttr(name, value, target string) types.Attribute {
	at := types.Attribute{Name: aws.String(name), TargetId: aws.String(target)}
	if value != "" {
		at.Value = aws.String(value)
	}
	if !strings.HasPrefix(target, "arn:") {
		at.TargetType = types.TargetTypeContainerInstance
	}
	return at
}

// ciListAttrs pages through ListAttributes and returns "arn name=value" lines.
func ciListAttrs(t *testing.T, s *ecstest.Server, in ecs.ListAttributesInput) ([]string, int) {
	t.Helper()
	in.TargetType = types.TargetTypeContainerInstance
	var out []string
	pages := 0
	p := ecs.NewListAttributesPaginator(s.Client, &in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListAttributes page %d: %v", pages+1, err)
		}
		if in.MaxResults != nil && len(page.Attributes) > int(*in.MaxResults) {
			t.Errorf("page of %d attributes; want at most %d", len(page.Attributes), *in.MaxResults)
		}
		for _, at := range page.Attributes {
			if at.TargetType != types.TargetTypeContainerInstance {
				t.Errorf("attribute %s has targetType %q; want container-instance", aws.ToString(at.Name), at.TargetType)
			}
			out = append(out, aws.ToString(at.TargetId)+" "+aws.ToString(at.Name)+"="+aws.ToString(at.Value))
		}
		pages++
	}
	return out, pages
}

func TestPutListDeleteAttributes(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c")
	ci := ciRegister(t, s, "c")
	arn := aws.ToString(ci.ContainerInstanceArn)
	id := ciInstanceID(arn)

	put, err := s.Client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("c"), Attributes: []types.Attribute{
		ciAttr("stack", "blue", arn),
		ciAttr("gpu-ready", "", id),
		ciAttr("owner", "ops@example.com", id),
	}})
	if err != nil {
		t.Fatalf("PutAttributes: %v", err)
	}
	if len(put.Attributes) != 3 || put.Attributes[1].TargetType != types.TargetTypeContainerInstance {
		t.Errorf("PutAttributes answered %+v; want the three attributes back", put.Attributes)
	}
	got := ciDescribe(t, s, "c", id)
	if v, _ := ciAttrValue(got.Attributes, "stack"); v != "blue" {
		t.Errorf("stack = %q; want blue", v)
	}
	if _, ok := ciAttrValue(got.Attributes, "gpu-ready"); !ok {
		t.Error("attribute gpu-ready without a value is missing")
	}
	if got.Version != ci.Version+1 {
		t.Errorf("version after PutAttributes = %d; want %d", got.Version, ci.Version+1)
	}

	// Replacing a value keeps one attribute of the name.
	if _, err := s.Client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("c"), Attributes: []types.Attribute{ciAttr("stack", "green", arn)}}); err != nil {
		t.Fatal(err)
	}
	lines, _ := ciListAttrs(t, s, ecs.ListAttributesInput{Cluster: aws.String("c"), AttributeName: aws.String("stack")})
	if want := []string{arn + " stack=green"}; !slices.Equal(lines, want) {
		t.Errorf("ListAttributes stack = %v; want %v", lines, want)
	}
	lines, _ = ciListAttrs(t, s, ecs.ListAttributesInput{Cluster: aws.String("c"), AttributeName: aws.String("ecs.os-type"), AttributeValue: aws.String("linux")})
	if want := []string{arn + " ecs.os-type=linux"}; !slices.Equal(lines, want) {
		t.Errorf("ListAttributes ecs.os-type=linux = %v; want %v (the agent's attributes are listed too)", lines, want)
	}
	lines, _ = ciListAttrs(t, s, ecs.ListAttributesInput{Cluster: aws.String("c"), AttributeName: aws.String("stack"), AttributeValue: aws.String("blue")})
	if len(lines) != 0 {
		t.Errorf("ListAttributes stack=blue = %v; want none", lines)
	}

	// Deleting one the instance lacks is no error.
	del, err := s.Client.DeleteAttributes(ctx, &ecs.DeleteAttributesInput{Cluster: aws.String("c"), Attributes: []types.Attribute{
		ciAttr("stack", "", arn), ciAttr("never-set", "", id),
	}})
	if err != nil {
		t.Fatalf("DeleteAttributes: %v", err)
	}
	if len(del.Attributes) != 2 {
		t.Errorf("DeleteAttributes answered %+v; want the two attributes back", del.Attributes)
	}
	got = ciDescribe(t, s, "c", id)
	if _, ok := ciAttrValue(got.Attributes, "stack"); ok {
		t.Error("stack is still there after DeleteAttributes")
	}
	if v, _ := ciAttrValue(got.Attributes, "owner"); v != "ops@example.com" {
		t.Errorf("owner = %q; want it untouched", v)
	}
	lines, _ = ciListAttrs(t, s, ecs.ListAttributesInput{Cluster: aws.String("c"), AttributeName: aws.String("stack")})
	if len(lines) != 0 {
		t.Errorf("ListAttributes stack after delete = %v; want none", lines)
	}
}

func TestAttributeErrors(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c")
	ciCreateCluster(t, s, "other")
	ci := ciRegister(t, s, "c")
	arn := aws.ToString(ci.ContainerInstanceArn)
	id := ciInstanceID(arn)
	foreign := aws.ToString(ciRegister(t, s, "other").ContainerInstanceArn)
	gone := ciRegister(t, s, "c")
	if _, err := s.Client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: gone.ContainerInstanceArn}); err != nil {
		t.Fatal(err)
	}

	var ten, eleven []types.Attribute
	for i := range 11 {
		at := ciAttr(fmt.Sprintf("custom%d", i), "v", arn)
		eleven = append(eleven, at)
		if i < 10 {
			ten = append(ten, at)
		}
	}
	putCases := []struct {
		name    string
		cluster string
		attrs   []types.Attribute
		code    string
	}{
		{"none", "c", []types.Attribute{}, "InvalidParameterException"},
		{"eleven in one call", "c", eleven, "InvalidParameterException"},
		{"unknown target", "c", []types.Attribute{ciAttr("a", "v", "0123456789abcdef0123456789abcdef")}, "TargetNotFoundException"},
		{"deregistered target", "c", []types.Attribute{ciAttr("a", "v", aws.ToString(gone.ContainerInstanceArn))}, "TargetNotFoundException"},
		{"target in another cluster", "c", []types.Attribute{ciAttr("a", "v", foreign)}, "TargetNotFoundException"},
		{"short ID without targetType", "c", []types.Attribute{{Name: aws.String("a"), TargetId: aws.String(id)}}, "InvalidParameterException"},
		{"no targetId", "c", []types.Attribute{{Name: aws.String("a"), TargetType: types.TargetTypeContainerInstance}}, "InvalidParameterException"},
		{"wrong targetType", "c", []types.Attribute{{Name: aws.String("a"), TargetId: aws.String(arn), TargetType: "task"}}, "InvalidParameterException"},
		{"bad name", "c", []types.Attribute{ciAttr("a b", "v", arn)}, "InvalidParameterException"},
		{"value with trailing space", "c", []types.Attribute{ciAttr("a", "v ", arn)}, "InvalidParameterException"},
		{"reserved ecs. name", "c", []types.Attribute{ciAttr("ecs.os-type", "windows", arn)}, "InvalidParameterException"},
		{"agent capability", "c", []types.Attribute{ciAttr("com.amazonaws.ecs.capability.privileged-container", "", arn)}, "InvalidParameterException"},
		{"unknown cluster", "nope", []types.Attribute{ciAttr("a", "v", arn)}, "ClusterNotFoundException"},
		// One bad entry refuses the whole call: "fine" must not be written.
		{"good and bad", "c", []types.Attribute{ciAttr("fine", "v", arn), ciAttr("a", "v", "0123456789abcdef0123456789abcdef")}, "TargetNotFoundException"},
	}
	for _, tt := range putCases {
		_, err := s.Client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String(tt.cluster), Attributes: tt.attrs})
		if code := ecstest.ErrorCode(err); code != tt.code {
			t.Errorf("PutAttributes %s: error %v; want %s", tt.name, err, tt.code)
		}
	}
	if got := ciDescribe(t, s, "c", id); len(got.Attributes) != len(ci.Attributes) || got.Version != ci.Version {
		t.Errorf("refused PutAttributes changed the instance: attributes %d version %d; want %d %d", len(got.Attributes), got.Version, len(ci.Attributes), ci.Version)
	}

	// Ten custom attributes fit; the eleventh is over ECS's limit.
	if _, err := s.Client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("c"), Attributes: ten}); err != nil {
		t.Fatalf("PutAttributes of 10 custom attributes: %v", err)
	}
	_, err := s.Client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("c"), Attributes: []types.Attribute{ciAttr("one-more", "v", id)}})
	ecstest.WantCode(t, err, "AttributeLimitExceededException")
	if _, ok := ciAttrValue(ciDescribe(t, s, "c", id).Attributes, "one-more"); ok {
		t.Error("the attribute over the limit was stored")
	}
	// Replacing an existing one is still allowed at the limit.
	if _, err := s.Client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("c"), Attributes: []types.Attribute{ciAttr("custom3", "new", id)}}); err != nil {
		t.Errorf("replacing a value at the limit: %v", err)
	}

	delCases := []struct {
		name  string
		attrs []types.Attribute
		code  string
	}{
		{"none", []types.Attribute{}, "InvalidParameterException"},
		{"eleven", eleven, "InvalidParameterException"},
		{"unknown target", []types.Attribute{ciAttr("a", "", "0123456789abcdef0123456789abcdef")}, "TargetNotFoundException"},
		{"built-in", []types.Attribute{ciAttr("ecs.os-type", "", arn)}, "InvalidParameterException"},
		{"short ID without targetType", []types.Attribute{{Name: aws.String("custom1"), TargetId: aws.String(id)}}, "InvalidParameterException"},
	}
	for _, tt := range delCases {
		_, err := s.Client.DeleteAttributes(ctx, &ecs.DeleteAttributesInput{Cluster: aws.String("c"), Attributes: tt.attrs})
		if code := ecstest.ErrorCode(err); code != tt.code {
			t.Errorf("DeleteAttributes %s: error %v; want %s", tt.name, err, tt.code)
		}
	}

	listCases := []struct {
		name string
		in   ecs.ListAttributesInput
		code string
	}{
		{"bad targetType", ecs.ListAttributesInput{Cluster: aws.String("c"), TargetType: "task"}, "InvalidParameterException"},
		{"bad name", ecs.ListAttributesInput{Cluster: aws.String("c"), TargetType: types.TargetTypeContainerInstance, AttributeName: aws.String("a b")}, "InvalidParameterException"},
		{"value without name", ecs.ListAttributesInput{Cluster: aws.String("c"), TargetType: types.TargetTypeContainerInstance, AttributeValue: aws.String("v")}, "InvalidParameterException"},
		{"maxResults 0", ecs.ListAttributesInput{Cluster: aws.String("c"), TargetType: types.TargetTypeContainerInstance, MaxResults: aws.Int32(0)}, "InvalidParameterException"},
		{"garbage token", ecs.ListAttributesInput{Cluster: aws.String("c"), TargetType: types.TargetTypeContainerInstance, NextToken: aws.String("@@")}, "InvalidParameterException"},
		{"unknown cluster", ecs.ListAttributesInput{Cluster: aws.String("nope"), TargetType: types.TargetTypeContainerInstance}, "ClusterNotFoundException"},
	}
	for _, tt := range listCases {
		_, err := s.Client.ListAttributes(ctx, &tt.in)
		if code := ecstest.ErrorCode(err); code != tt.code {
			t.Errorf("ListAttributes %s: error %v; want %s", tt.name, err, tt.code)
		}
	}
	// The SDK refuses to send ListAttributes without targetType; other clients may.
	if code, msg := ciRawCall(t, s, "ListAttributes", `{"cluster":"c"}`); code != "InvalidParameterException" || !strings.Contains(msg, "targetType is required") {
		t.Errorf("ListAttributes without targetType: %s %q; want InvalidParameterException saying targetType is required", code, msg)
	}
}

func TestListAttributesPagination(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c")
	var want []string
	for i := range 3 {
		ci := ciRegister(t, s, "c")
		arn := aws.ToString(ci.ContainerInstanceArn)
		want = append(want, arn+" ecs.os-type=linux")
		var attrs []types.Attribute
		for j := range i + 2 {
			attrs = append(attrs, ciAttr(fmt.Sprintf("k%d", j), fmt.Sprintf("v%d", j%2), arn))
			want = append(want, fmt.Sprintf("%s k%d=v%d", arn, j, j%2))
		}
		if _, err := s.Client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("c"), Attributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	// A deregistered instance's attributes are not listed.
	gone := ciRegister(t, s, "c")
	if _, err := s.Client.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: gone.ContainerInstanceArn}); err != nil {
		t.Fatal(err)
	}

	for _, size := range []int32{1, 2, 3, 100} {
		got, pages := ciListAttrs(t, s, ecs.ListAttributesInput{Cluster: aws.String("c"), MaxResults: aws.Int32(size)})
		sorted := slices.Sorted(slices.Values(got))
		if !slices.Equal(sorted, want) || len(got) != len(want) {
			t.Errorf("maxResults %d: listed %v; want %v", size, got, want)
		}
		if wantPages := (len(want) + int(size) - 1) / int(size); pages != wantPages {
			t.Errorf("maxResults %d: %d pages; want %d", size, pages, wantPages)
		}
	}
	got, _ := ciListAttrs(t, s, ecs.ListAttributesInput{Cluster: aws.String("c"), AttributeName: aws.String("k1"), AttributeValue: aws.String("v1"), MaxResults: aws.Int32(1)})
	if len(got) != 3 {
		t.Errorf("k1=v1 across instances = %v; want one per instance", got)
	}
}

func TestPutAttributesConcurrentWritersAllLand(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	ciCreateCluster(t, s, "c")
	ci := ciRegister(t, s, "c")
	arn := aws.ToString(ci.ContainerInstanceArn)
	const writers = 8
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			_, err := s.Client.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("c"), Attributes: []types.Attribute{ciAttr(fmt.Sprintf("w%d", i), "x", arn)}})
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Errorf("concurrent PutAttributes: %v", err)
		}
	}
	got := ciDescribe(t, s, "c", arn)
	for i := range writers {
		if _, ok := ciAttrValue(got.Attributes, fmt.Sprintf("w%d", i)); !ok {
			t.Errorf("attribute w%d was lost to a concurrent writer", i)
		}
	}
	if got.Version != ci.Version+writers {
		t.Errorf("version = %d; want %d, one increment per write", got.Version, ci.Version+writers)
	}
}
