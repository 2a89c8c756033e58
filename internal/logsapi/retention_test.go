package logsapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

func TestRetention(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.group(t, "short")
	e.group(t, "forever")
	for _, g := range []string{"short", "forever"} {
		e.stream(t, g, "s")
	}
	if _, err := e.client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("short"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	now := e.nowMillis()
	for _, g := range []string{"short", "forever"} {
		e.put(t, g, "s", now-1000, "old 1", "old 2")
	}
	e.clock.Advance(20 * time.Hour)
	later := e.nowMillis()
	for _, g := range []string{"short", "forever"} {
		e.put(t, g, "s", later, "new")
	}
	e.clock.Advance(5 * time.Hour) // the first events are now 25 hours old

	get := func(g string) []string {
		t.Helper()
		out, err := e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return outMessages(out.Events)
	}
	// Expired events are gone from reads at once...
	if got := get("short"); !same(got, []string{"new"}) {
		t.Fatalf("short after 25h = %q; want only the new event", got)
	}
	if got := get("forever"); !same(got, []string{"old 1", "old 2", "new"}) {
		t.Fatalf("forever = %q", got)
	}
	f, _ := e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("short")})
	if got := filteredMessages(f.Events); !same(got, []string{"new"}) {
		t.Fatalf("FilterLogEvents short = %q", got)
	}
	// ...and from the store, with their bytes, at the next maintenance.
	before, _ := e.st.StoredBytes()
	if _, err := e.st.Maintain(); err != nil {
		t.Fatal(err)
	}
	after, _ := e.st.StoredBytes()
	if want := before - int64(2*(5+26)); after != want {
		t.Fatalf("stored bytes after maintenance = %d; want %d", after, want)
	}
	out, _ := e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("short")})
	if got := aws.ToInt64(out.LogGroups[0].StoredBytes); got != 3+26 {
		t.Errorf("short storedBytes = %d; want %d", got, 3+26)
	}
	st, _ := e.client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("short")})
	if got := aws.ToInt64(st.LogStreams[0].FirstEventTimestamp); got != later {
		t.Errorf("firstEventTimestamp after expiry = %d; want %d", got, later)
	}
}

// TestStorageLimit fills a store past its size limit: the oldest events
// go, across groups and streams, until it is back under the limit, and the
// newest stay.
func TestStorageLimit(t *testing.T) {
	const limit = 200_000
	e := startWith(t, envOptions{limit: limit})
	ctx := context.Background()
	for _, g := range []string{"a", "b"} {
		e.group(t, g)
		e.stream(t, g, "s")
	}
	now := e.nowMillis()
	msg := strings.Repeat("m", 974) // 1000 bytes an event, as counted
	const batches = 40              // 400,000 bytes in all
	for i := range batches {
		g := []string{"a", "b"}[i%2]
		batch := make([]string, 10)
		for j := range batch {
			batch[j] = fmt.Sprintf("%03d-%02d", i, j) + msg[6:]
		}
		e.put(t, g, "s", now-int64(batches-i)*100, batch...)
	}
	if _, err := e.st.Maintain(); err != nil {
		t.Fatal(err)
	}
	stored, _ := e.st.StoredBytes()
	if stored > limit || stored < limit*8/10 {
		t.Fatalf("stored %d bytes after eviction; want at most the limit %d and not much less", stored, limit)
	}
	// What is left is the newest: every batch from some point on, whole.
	f, err := e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("b")})
	kept := append(filteredMessages(f.Events), filteredMessages(g.Events)...)
	if int64(len(kept))*1000 != stored {
		t.Fatalf("%d events readable, %d bytes counted", len(kept), stored)
	}
	oldestKept := batches
	for _, m := range kept {
		var b int
		fmt.Sscanf(m, "%03d", &b)
		oldestKept = min(oldestKept, b)
	}
	if want := batches - int(stored/10_000); oldestKept < want-1 {
		t.Errorf("oldest batch kept %d; the newest %d batches should be what is left", oldestKept, batches-want)
	}
	groups, _ := e.client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	sum := aws.ToInt64(groups.LogGroups[0].StoredBytes) + aws.ToInt64(groups.LogGroups[1].StoredBytes)
	if sum != stored {
		t.Errorf("groups' storedBytes sum to %d; the store counts %d", sum, stored)
	}
}
