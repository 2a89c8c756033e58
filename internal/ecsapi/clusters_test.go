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

const clustersARNPrefix = "arn:aws:ecs:us-east-1:123456789012:cluster/"

func clustersCreate(t *testing.T, c *ecs.Client, in *ecs.CreateClusterInput) *types.Cluster {
	t.Helper()
	out, err := c.CreateCluster(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateCluster(%s): %v", aws.ToString(in.ClusterName), err)
	}
	return out.Cluster
}

func clustersDescribe(t *testing.T, c *ecs.Client, name string, include ...types.ClusterField) types.Cluster {
	t.Helper()
	out, err := c.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Clusters: []string{name}, Include: include})
	if err != nil {
		t.Fatalf("DescribeClusters(%s): %v", name, err)
	}
	if len(out.Clusters) != 1 {
		t.Fatalf("DescribeClusters(%s) = %d clusters, failures %+v; want 1", name, len(out.Clusters), out.Failures)
	}
	return out.Clusters[0]
}

func clustersSetting(settings []types.ClusterSetting, name types.ClusterSettingName) string {
	for _, s := range settings {
		if s.Name == name {
			return aws.ToString(s.Value)
		}
	}
	return ""
}

func TestCreateClusterIsIdempotent(t *testing.T) {
	s := ecstest.Start(t)
	first := clustersCreate(t, s.Client, &ecs.CreateClusterInput{
		ClusterName: aws.String("web"),
		Tags:        []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if got, want := aws.ToString(first.ClusterArn), clustersARNPrefix+"web"; got != want {
		t.Errorf("clusterArn = %q; want %q", got, want)
	}
	if got := aws.ToString(first.Status); got != "ACTIVE" {
		t.Errorf("status = %q; want ACTIVE", got)
	}
	if first.RegisteredContainerInstancesCount != 0 || first.RunningTasksCount != 0 || first.PendingTasksCount != 0 || first.ActiveServicesCount != 0 {
		t.Errorf("new cluster counts = %d/%d/%d/%d; want all 0", first.RegisteredContainerInstancesCount,
			first.RunningTasksCount, first.PendingTasksCount, first.ActiveServicesCount)
	}
	// A second create of an ACTIVE name returns the cluster as it is.
	second := clustersCreate(t, s.Client, &ecs.CreateClusterInput{
		ClusterName: aws.String("web"),
		Tags:        []types.Tag{{Key: aws.String("team"), Value: aws.String("b")}},
	})
	if aws.ToString(second.ClusterArn) != aws.ToString(first.ClusterArn) {
		t.Errorf("second create ARN = %q; want %q", aws.ToString(second.ClusterArn), aws.ToString(first.ClusterArn))
	}
	got := clustersDescribe(t, s.Client, "web", types.ClusterFieldTags)
	if len(got.Tags) != 1 || aws.ToString(got.Tags[0].Value) != "a" {
		t.Errorf("tags after second create = %+v; want team=a kept", got.Tags)
	}
	list, err := s.Client.ListClusters(context.Background(), &ecs.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ClusterArns) != 1 {
		t.Errorf("ListClusters = %v; want one cluster", list.ClusterArns)
	}
}

func TestCreateClusterDefaultName(t *testing.T) {
	s := ecstest.Start(t)
	c := clustersCreate(t, s.Client, &ecs.CreateClusterInput{})
	if got := aws.ToString(c.ClusterName); got != "default" {
		t.Errorf("clusterName = %q; want default", got)
	}
	// DescribeClusters without clusters describes "default".
	out, err := s.Client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].ClusterArn) != clustersARNPrefix+"default" {
		t.Errorf("DescribeClusters() = %+v; want the default cluster", out.Clusters)
	}
}

func TestCreateClusterRejectsBadInput(t *testing.T) {
	s := ecstest.Start(t)
	long := strings.Repeat("a", 256)
	tooManyTags := make([]types.Tag, 51)
	for i := range tooManyTags {
		tooManyTags[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
	}
	cases := []struct {
		name string
		in   ecs.CreateClusterInput
	}{
		{"space in name", ecs.CreateClusterInput{ClusterName: aws.String("my cluster")}},
		{"dot in name", ecs.CreateClusterInput{ClusterName: aws.String("a.b")}},
		{"slash in name", ecs.CreateClusterInput{ClusterName: aws.String("a/b")}},
		{"name too long", ecs.CreateClusterInput{ClusterName: aws.String(long)}},
		{"unknown setting", ecs.CreateClusterInput{ClusterName: aws.String("x"),
			Settings: []types.ClusterSetting{{Name: "nope", Value: aws.String("enabled")}}}},
		{"bad insights value", ecs.CreateClusterInput{ClusterName: aws.String("x"),
			Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("yes")}}}},
		{"aws: tag", ecs.CreateClusterInput{ClusterName: aws.String("x"),
			Tags: []types.Tag{{Key: aws.String("aws:owner"), Value: aws.String("me")}}}},
		{"51 tags", ecs.CreateClusterInput{ClusterName: aws.String("x"), Tags: tooManyTags}},
		{"unknown capacity provider", ecs.CreateClusterInput{ClusterName: aws.String("x"), CapacityProviders: []string{"mine"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Client.CreateCluster(context.Background(), &tc.in)
			ecstest.WantCode(t, err, "InvalidParameterException")
		})
	}
	list, err := s.Client.ListClusters(context.Background(), &ecs.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ClusterArns) != 0 {
		t.Errorf("after rejected creates ListClusters = %v; want none", list.ClusterArns)
	}
}

func TestDescribeClustersInclude(t *testing.T) {
	s := ecstest.Start(t)
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{
		ClusterName: aws.String("web"),
		Tags:        []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}},
		Settings:    []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}},
	})
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{
		ClusterName: aws.String("twice"),
		Settings: []types.ClusterSetting{
			{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")},
			{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enhanced")},
		},
	})
	if got := clustersDescribe(t, s.Client, "twice", types.ClusterFieldSettings).Settings; len(got) != 1 || aws.ToString(got[0].Value) != "enhanced" {
		t.Errorf("a setting given twice is stored as %+v; want once, with the last value", got)
	}
	plain := clustersDescribe(t, s.Client, "web")
	if plain.Tags != nil || plain.Settings != nil || plain.Statistics != nil {
		t.Errorf("without include: tags %v, settings %v, statistics %v; want none", plain.Tags, plain.Settings, plain.Statistics)
	}
	full := clustersDescribe(t, s.Client, clustersARNPrefix+"web",
		types.ClusterFieldTags, types.ClusterFieldSettings, types.ClusterFieldStatistics)
	if len(full.Tags) != 1 || aws.ToString(full.Tags[0].Key) != "env" || aws.ToString(full.Tags[0].Value) != "prod" {
		t.Errorf("include TAGS: tags = %+v; want env=prod", full.Tags)
	}
	if got := clustersSetting(full.Settings, types.ClusterSettingNameContainerInsights); got != "enabled" {
		t.Errorf("include SETTINGS: containerInsights = %q; want enabled", got)
	}
	stats := map[string]string{}
	for _, kv := range full.Statistics {
		stats[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	for _, k := range []string{"runningEC2TasksCount", "pendingEC2TasksCount", "activeEC2ServiceCount"} {
		if stats[k] != "0" {
			t.Errorf("include STATISTICS: %s = %q; want \"0\" (statistics %v)", k, stats[k], stats)
		}
	}
	_, err := s.Client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{
		Clusters: []string{"web"}, Include: []types.ClusterField{"EVERYTHING"},
	})
	ecstest.WantCode(t, err, "InvalidParameterException")
}

func TestDescribeClustersReportsMissing(t *testing.T) {
	s := ecstest.Start(t)
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("here")})
	out, err := s.Client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{
		Clusters: []string{"here", "gone", clustersARNPrefix + "also-gone"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].ClusterName) != "here" {
		t.Errorf("clusters = %+v; want only here", out.Clusters)
	}
	var missing []string
	for _, f := range out.Failures {
		if aws.ToString(f.Reason) != "MISSING" {
			t.Errorf("failure %s reason = %q; want MISSING", aws.ToString(f.Arn), aws.ToString(f.Reason))
		}
		missing = append(missing, aws.ToString(f.Arn))
	}
	want := []string{clustersARNPrefix + "gone", clustersARNPrefix + "also-gone"}
	if !slices.Equal(missing, want) {
		t.Errorf("failure ARNs = %v; want %v", missing, want)
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("c%d", i)
	}
	_, err = s.Client.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Clusters: many})
	ecstest.WantCode(t, err, "InvalidParameterException")
}

func TestListClustersPaginates(t *testing.T) {
	s := ecstest.Start(t)
	var want []string
	for i := 0; i < 23; i++ {
		name := fmt.Sprintf("c%02d", i)
		clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
		want = append(want, clustersARNPrefix+name)
	}
	// A deleted cluster is not listed, and its gap does not shorten a page.
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("c05x")})
	if _, err := s.Client.DeleteCluster(context.Background(), &ecs.DeleteClusterInput{Cluster: aws.String("c05x")}); err != nil {
		t.Fatal(err)
	}
	p := ecs.NewListClustersPaginator(s.Client, &ecs.ListClustersInput{MaxResults: aws.Int32(5)})
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if len(out.ClusterArns) > 5 {
			t.Errorf("page %d has %d clusters; want at most 5", pages, len(out.ClusterArns))
		}
		got = append(got, out.ClusterArns...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("paginated ListClusters = %v; want %v", got, want)
	}
	if pages != 5 {
		t.Errorf("pages = %d; want 5 (23 clusters by 5)", pages)
	}
	for _, bad := range []int32{0, 101} {
		_, err := s.Client.ListClusters(context.Background(), &ecs.ListClustersInput{MaxResults: aws.Int32(bad)})
		ecstest.WantCode(t, err, "InvalidParameterException")
	}
	_, err := s.Client.ListClusters(context.Background(), &ecs.ListClustersInput{NextToken: aws.String("not a token")})
	ecstest.WantCode(t, err, "InvalidParameterException")
}

func TestUpdateClusterSettings(t *testing.T) {
	s := ecstest.Start(t)
	c := clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	if got := clustersSetting(c.Settings, types.ClusterSettingNameContainerInsights); got != "disabled" {
		t.Errorf("new cluster containerInsights = %q; want disabled", got)
	}
	out, err := s.Client.UpdateClusterSettings(context.Background(), &ecs.UpdateClusterSettingsInput{
		Cluster:  aws.String("web"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enhanced")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := clustersSetting(out.Cluster.Settings, types.ClusterSettingNameContainerInsights); got != "enhanced" {
		t.Errorf("UpdateClusterSettings answer containerInsights = %q; want enhanced", got)
	}
	got := clustersDescribe(t, s.Client, "web", types.ClusterFieldSettings)
	if v := clustersSetting(got.Settings, types.ClusterSettingNameContainerInsights); v != "enhanced" || len(got.Settings) != 1 {
		t.Errorf("described settings = %+v; want the one containerInsights=enhanced", got.Settings)
	}
	if _, err := s.Client.UpdateCluster(context.Background(), &ecs.UpdateClusterInput{
		Cluster:  aws.String("web"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("disabled")}},
	}); err != nil {
		t.Fatal(err)
	}
	got = clustersDescribe(t, s.Client, "web", types.ClusterFieldSettings)
	if v := clustersSetting(got.Settings, types.ClusterSettingNameContainerInsights); v != "disabled" {
		t.Errorf("after UpdateCluster containerInsights = %q; want disabled", v)
	}

	_, err = s.Client.UpdateClusterSettings(context.Background(), &ecs.UpdateClusterSettingsInput{
		Cluster:  aws.String("nope"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}},
	})
	ecstest.WantCode(t, err, "ClusterNotFoundException")
	_, err = s.Client.UpdateClusterSettings(context.Background(), &ecs.UpdateClusterSettingsInput{
		Cluster:  aws.String("web"),
		Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("on")}},
	})
	ecstest.WantCode(t, err, "InvalidParameterException")
	if v := clustersSetting(clustersDescribe(t, s.Client, "web", types.ClusterFieldSettings).Settings, types.ClusterSettingNameContainerInsights); v != "disabled" {
		t.Errorf("after a rejected update containerInsights = %q; want disabled unchanged", v)
	}
}

func TestDeleteClusterThenCreateAgain(t *testing.T) {
	s := ecstest.Start(t)
	ctx := context.Background()
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{
		ClusterName: aws.String("web"),
		Tags:        []types.Tag{{Key: aws.String("old"), Value: aws.String("yes")}},
	})
	out, err := s.Client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(clustersARNPrefix + "web")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Cluster.Status); got != "INACTIVE" {
		t.Errorf("DeleteCluster status = %q; want INACTIVE", got)
	}
	// Still described (as INACTIVE), no longer listed, not deletable twice.
	if got := aws.ToString(clustersDescribe(t, s.Client, "web").Status); got != "INACTIVE" {
		t.Errorf("described status after delete = %q; want INACTIVE", got)
	}
	list, err := s.Client.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ClusterArns) != 0 {
		t.Errorf("ListClusters after delete = %v; want none", list.ClusterArns)
	}
	_, err = s.Client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("web")})
	ecstest.WantCode(t, err, "ClusterNotFoundException")
	_, err = s.Client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("never")})
	ecstest.WantCode(t, err, "ClusterNotFoundException")

	again := clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("web")})
	if got := aws.ToString(again.Status); got != "ACTIVE" {
		t.Errorf("re-created status = %q; want ACTIVE", got)
	}
	if tags := clustersDescribe(t, s.Client, "web", types.ClusterFieldTags).Tags; len(tags) != 0 {
		t.Errorf("re-created cluster tags = %+v; want none (the old cluster's tags went with it)", tags)
	}
}

func TestClustersSurviveRestart(t *testing.T) {
	s := ecstest.Start(t)
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{
		ClusterName: aws.String("keep"),
		Tags:        []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
	})
	clustersCreate(t, s.Client, &ecs.CreateClusterInput{ClusterName: aws.String("drop")})
	if _, err := s.Client.DeleteCluster(context.Background(), &ecs.DeleteClusterInput{Cluster: aws.String("drop")}); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s2 := ecstest.StartWith(t, ecstest.Options{DataDir: s.DataDir})
	list, err := s2.Client.ListClusters(context.Background(), &ecs.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{clustersARNPrefix + "keep"}; !slices.Equal(list.ClusterArns, want) {
		t.Errorf("ListClusters after restart = %v; want %v", list.ClusterArns, want)
	}
	got := clustersDescribe(t, s2.Client, "keep", types.ClusterFieldTags)
	if len(got.Tags) != 1 || aws.ToString(got.Tags[0].Key) != "k" {
		t.Errorf("tags after restart = %+v; want k=v", got.Tags)
	}
	if st := aws.ToString(clustersDescribe(t, s2.Client, "drop").Status); st != "INACTIVE" {
		t.Errorf("deleted cluster after restart status = %q; want INACTIVE", st)
	}
}
