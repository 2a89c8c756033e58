package logsapi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func TestLogGroups(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	for _, n := range []string{"/ecs/web", "/ecs/api", "other", "/ecs/worker"} {
		e.group(t, n)
	}
	_, err := e.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/web")})
	wantCode(t, "CreateLogGroup twice", err, "ResourceAlreadyExistsException")
	for _, bad := range []string{"", "has space", "colon:name", "star*", string(make([]byte, 513))} {
		_, err := e.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(bad)})
		wantCode(t, fmt.Sprintf("CreateLogGroup %q", bad), err, "InvalidParameterException")
	}

	out, err := e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range out.LogGroups {
		names = append(names, aws.ToString(g.LogGroupName))
	}
	if want := []string{"/ecs/api", "/ecs/web", "/ecs/worker", "other"}; !same(names, want) {
		t.Fatalf("DescribeLogGroups = %q; want %q", names, want)
	}
	g := out.LogGroups[0]
	if aws.ToString(g.Arn) != "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/api:*" ||
		aws.ToString(g.LogGroupArn) != "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/api" ||
		g.LogGroupClass != types.LogGroupClassStandard || g.RetentionInDays != nil || aws.ToInt64(g.StoredBytes) != 0 {
		t.Errorf("log group = %+v", g)
	}

	// Prefix, pattern and pages of one.
	pre, err := e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/w")})
	if err != nil || len(pre.LogGroups) != 2 || aws.ToString(pre.LogGroups[1].LogGroupName) != "/ecs/worker" {
		t.Errorf("DescribeLogGroups prefix /ecs/w = %+v, %v", pre, err)
	}
	pat, err := e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("ork")})
	if err != nil || len(pat.LogGroups) != 1 || pat.LogGroups[0].StoredBytes != nil {
		t.Errorf("DescribeLogGroups pattern ork = %+v, %v (a pattern answers only name, creation time and ARN)", pat, err)
	}
	_, err = e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("a"), LogGroupNamePrefix: aws.String("a")})
	wantCode(t, "prefix and pattern", err, "InvalidParameterException")
	var paged []string
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(e.client, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.LogGroups {
			paged = append(paged, aws.ToString(g.LogGroupName))
		}
	}
	if !same(paged, names) {
		t.Errorf("paged = %q; want %q", paged, names)
	}
	_, err = e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{NextToken: aws.String("garbage")})
	wantCode(t, "bad nextToken", err, "InvalidParameterException")

	// Retention: only the values CloudWatch accepts.
	for _, days := range []int32{0, 2, 8, 4000, -1} {
		_, err := e.client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("other"), RetentionInDays: aws.Int32(days)})
		wantCode(t, fmt.Sprintf("PutRetentionPolicy %d", days), err, "InvalidParameterException")
	}
	if _, err := e.client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("other"), RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("missing"), RetentionInDays: aws.Int32(7)})
	wantCode(t, "PutRetentionPolicy on a missing group", err, "ResourceNotFoundException")
	got, _ := e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupIdentifiers: []string{"other"}})
	if len(got.LogGroups) != 1 || aws.ToInt32(got.LogGroups[0].RetentionInDays) != 7 {
		t.Errorf("after PutRetentionPolicy 7: %+v", got.LogGroups)
	}
	if _, err := e.client.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupIdentifiers: []string{"arn:aws:logs:us-east-1:123456789012:log-group:other:*"}})
	if len(got.LogGroups) != 1 || got.LogGroups[0].RetentionInDays != nil {
		t.Errorf("after DeleteRetentionPolicy: %+v", got.LogGroups)
	}

	// Delete, with and without deletion protection.
	if _, err := e.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("kept"), DeletionProtectionEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("kept")})
	wantCode(t, "DeleteLogGroup with deletion protection", err, "ValidationException")
	if _, err := e.client.PutLogGroupDeletionProtection(ctx, &cloudwatchlogs.PutLogGroupDeletionProtectionInput{LogGroupIdentifier: aws.String("kept"), DeletionProtectionEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"kept", "/ecs/web"} {
		if _, err := e.client.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(n)}); err != nil {
			t.Fatalf("DeleteLogGroup %s: %v", n, err)
		}
	}
	_, err = e.client.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/ecs/web")})
	wantCode(t, "DeleteLogGroup twice", err, "ResourceNotFoundException")
}

func TestLogStreams(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.group(t, "g")
	now := e.nowMillis()
	for i, n := range []string{"b", "a", "c/x", "c/y"} {
		e.stream(t, "g", n)
		e.put(t, "g", n, now-int64(10-i)*1000, "line")
	}
	_, err := e.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a")})
	wantCode(t, "CreateLogStream twice", err, "ResourceAlreadyExistsException")
	_, err = e.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("a")})
	wantCode(t, "CreateLogStream in a missing group", err, "ResourceNotFoundException")
	for _, bad := range []string{"", "a:b", "a*"} {
		_, err = e.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String(bad)})
		wantCode(t, fmt.Sprintf("CreateLogStream %q", bad), err, "InvalidParameterException")
	}

	list := func(in *cloudwatchlogs.DescribeLogStreamsInput) []string {
		t.Helper()
		var names []string
		p := cloudwatchlogs.NewDescribeLogStreamsPaginator(e.client, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("DescribeLogStreams %+v: %v", in, err)
			}
			for _, s := range page.LogStreams {
				names = append(names, aws.ToString(s.LogStreamName))
			}
		}
		return names
	}
	for _, c := range []struct {
		in   cloudwatchlogs.DescribeLogStreamsInput
		want []string
	}{
		{cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g")}, []string{"a", "b", "c/x", "c/y"}},
		{cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(1), Descending: aws.Bool(true)}, []string{"c/y", "c/x", "b", "a"}},
		{cloudwatchlogs.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:123456789012:log-group:g"), LogStreamNamePrefix: aws.String("c/"), Limit: aws.Int32(1)}, []string{"c/x", "c/y"}},
		{cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, Limit: aws.Int32(3)}, []string{"b", "a", "c/x", "c/y"}},
		{cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)}, []string{"c/y", "c/x", "a", "b"}},
	} {
		if got := list(&c.in); !same(got, c.want) {
			t.Errorf("DescribeLogStreams %+v = %q; want %q", c.in, got, c.want)
		}
	}
	_, err = e.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("c")})
	wantCode(t, "LastEventTime with a prefix", err, "InvalidParameterException")
	_, err = e.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogGroupIdentifier: aws.String("g")})
	wantCode(t, "name and identifier", err, "InvalidParameterException")
	_, err = e.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("none")})
	wantCode(t, "streams of a missing group", err, "ResourceNotFoundException")

	out, err := e.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("a")})
	if err != nil || len(out.LogStreams) != 1 {
		t.Fatalf("DescribeLogStreams a: %+v, %v", out, err)
	}
	s := out.LogStreams[0]
	if aws.ToString(s.Arn) != "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:a" || aws.ToInt64(s.FirstEventTimestamp) != now-9000 ||
		aws.ToInt64(s.LastEventTimestamp) != now-9000 || aws.ToInt64(s.LastIngestionTime) != now || aws.ToInt64(s.StoredBytes) != 4+26 || s.UploadSequenceToken == nil {
		t.Errorf("stream a = %+v", s)
	}
	if _, err := e.client.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a")})
	wantCode(t, "DeleteLogStream twice", err, "ResourceNotFoundException")
	groups, _ := e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if got := aws.ToInt64(groups.LogGroups[0].StoredBytes); got != 3*(4+26) {
		t.Errorf("group storedBytes after deleting a stream = %d; want %d", got, 3*(4+26))
	}
}
