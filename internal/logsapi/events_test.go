package logsapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func TestPutAndGetInOrder(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.group(t, "g")
	e.stream(t, "g", "s")
	now := e.nowMillis()
	// Two batches, the second with an older timestamp than the first's
	// end: across batches, order is by timestamp, then arrival.
	first := e.put(t, "g", "s", now-1000, lines("a", 5)...)
	e.put(t, "g", "s", now-998, "b 0", "b 1")
	if first.NextSequenceToken == nil || first.RejectedLogEventsInfo != nil {
		t.Errorf("PutLogEvents = %+v", first)
	}
	// Sequence tokens are accepted and ignored, however stale.
	if _, err := e.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		SequenceToken: aws.String("49590000000000000000000000000000000000000000000000000001"),
		LogEvents:     []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("c 0")}}}); err != nil {
		t.Fatalf("PutLogEvents with a stale sequence token: %v", err)
	}
	want := []string{"a 0", "a 1", "a 2", "b 0", "a 3", "b 1", "a 4", "c 0"}
	out, err := e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got := outMessages(out.Events); !same(got, want) {
		t.Fatalf("GetLogEvents = %q; want %q", got, want)
	}
	if ev := out.Events[0]; aws.ToInt64(ev.Timestamp) != now-1000 || aws.ToInt64(ev.IngestionTime) != now {
		t.Errorf("first event = %+v", ev)
	}
}

func TestGetLogEventsTokens(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.group(t, "g")
	e.stream(t, "g", "s")
	now := e.nowMillis()
	all := lines("line", 10)
	e.put(t, "g", "s", now-100, all...)
	get := func(in cloudwatchlogs.GetLogEventsInput) *cloudwatchlogs.GetLogEventsOutput {
		t.Helper()
		in.LogGroupName, in.LogStreamName = aws.String("g"), aws.String("s")
		out, err := e.client.GetLogEvents(ctx, &in)
		if err != nil {
			t.Fatalf("GetLogEvents %+v: %v", in, err)
		}
		if out.NextForwardToken == nil || out.NextBackwardToken == nil {
			t.Fatalf("GetLogEvents %+v answered a null token: %+v", in, out)
		}
		return out
	}

	// Without a token and startFromHead: the newest events.
	tail := get(cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(3)})
	if got := outMessages(tail.Events); !same(got, all[7:]) {
		t.Fatalf("latest 3 = %q; want %q", got, all[7:])
	}
	// Backward from there, page by page, to the start; the backward token
	// of the last page is the one sent.
	var back []string
	tok := tail.NextBackwardToken
	for i := 0; ; i++ {
		page := get(cloudwatchlogs.GetLogEventsInput{NextToken: tok, Limit: aws.Int32(3)})
		if len(page.Events) == 0 {
			if aws.ToString(page.NextBackwardToken) != aws.ToString(tok) {
				t.Fatalf("empty backward page: nextBackwardToken %q; want the token sent, %q", aws.ToString(page.NextBackwardToken), aws.ToString(tok))
			}
			break
		}
		back = append(outMessages(page.Events), back...)
		tok = page.NextBackwardToken
		if i > 10 {
			t.Fatal("backward paging does not end")
		}
	}
	if !same(back, all[:7]) {
		t.Fatalf("backward pages = %q; want %q", back, all[:7])
	}

	// Forward from the head with the SDK's paginator, which stops when the
	// token comes back unchanged.
	var fwd []string
	p := cloudwatchlogs.NewGetLogEventsPaginator(e.client, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"),
		LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true), Limit: aws.Int32(4)},
		func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fwd = append(fwd, outMessages(page.Events)...)
	}
	if !same(fwd, all) {
		t.Fatalf("forward pages = %q; want %q", fwd, all)
	}

	// At the end, the forward token comes back unchanged, and it sees
	// what arrives later: that is how a follower polls.
	end := get(cloudwatchlogs.GetLogEventsInput{StartFromHead: aws.Bool(true)})
	again := get(cloudwatchlogs.GetLogEventsInput{NextToken: end.NextForwardToken})
	if len(again.Events) != 0 || aws.ToString(again.NextForwardToken) != aws.ToString(end.NextForwardToken) {
		t.Fatalf("at the end: %d events, token %q; want none and %q", len(again.Events), aws.ToString(again.NextForwardToken), aws.ToString(end.NextForwardToken))
	}
	e.put(t, "g", "s", now, "later")
	more := get(cloudwatchlogs.GetLogEventsInput{NextToken: end.NextForwardToken})
	if got := outMessages(more.Events); !same(got, []string{"later"}) {
		t.Fatalf("after a new event: %q", got)
	}

	// An empty stream: polling forward from the first answer's token finds
	// the events that arrive afterwards.
	e.stream(t, "g", "empty")
	first, err := e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("empty")})
	if err != nil || len(first.Events) != 0 {
		t.Fatalf("empty stream: %+v %v", first, err)
	}
	e.put(t, "g", "empty", now, "hello")
	next, err := e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("empty"), NextToken: first.NextForwardToken})
	if err != nil || !same(outMessages(next.Events), []string{"hello"}) {
		t.Fatalf("forward from an empty stream's token: %+v %v", next, err)
	}

	// Time ranges: startTime inclusive, endTime exclusive.
	r := get(cloudwatchlogs.GetLogEventsInput{StartTime: aws.Int64(now - 98), EndTime: aws.Int64(now - 95), StartFromHead: aws.Bool(true)})
	if got := outMessages(r.Events); !same(got, all[2:5]) {
		t.Errorf("range = %q; want %q", got, all[2:5])
	}
	for _, bad := range []string{"x", "f/12", "q/0000000000000000000000000000000000000000", "f/-000000000000000000100000000000000000000"} {
		_, err := e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: aws.String(bad)})
		wantCode(t, "token "+bad, err, "InvalidParameterException")
	}
	_, err = e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope")})
	wantCode(t, "missing stream", err, "ResourceNotFoundException")
	_, err = e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogStreamName: aws.String("s")})
	wantCode(t, "no group", err, "InvalidParameterException")
}

func TestPutLogEventsRules(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.group(t, "g")
	e.stream(t, "g", "s")
	now := e.nowMillis()
	put := func(evs ...types.InputLogEvent) (*cloudwatchlogs.PutLogEventsOutput, error) {
		return e.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: evs})
	}
	ev := func(ts int64, msg string) types.InputLogEvent {
		return types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
	}
	day := int64(24 * time.Hour / time.Millisecond)

	_, err := put(ev(now, "b"), ev(now-1, "a"))
	wantCode(t, "out of order", err, "InvalidParameterException")
	_, err = put(ev(now-2*day, "a"), ev(now-day/2, "b"), ev(now, "c"))
	wantCode(t, "spanning more than 24 hours", err, "InvalidParameterException")
	_, err = put(ev(now, ""))
	wantCode(t, "empty message", err, "InvalidParameterException")
	if status, code, _ := e.raw(t, "PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[]}`); status != 400 || code != "InvalidParameterException" {
		t.Errorf("no events: %d %s", status, code)
	}
	many := make([]types.InputLogEvent, 10_001)
	for i := range many {
		many[i] = ev(now, "x")
	}
	_, err = put(many...)
	wantCode(t, "10,001 events", err, "InvalidParameterException")
	_, err = e.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("none"), LogEvents: []types.InputLogEvent{ev(now, "x")}})
	wantCode(t, "missing stream", err, "ResourceNotFoundException")
	_, err = e.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("none"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{ev(now, "x")}})
	wantCode(t, "missing group", err, "ResourceNotFoundException")

	// Too old, too new: rejected and reported, the rest stored.
	out, err := put(ev(now-15*day, "ancient"), ev(now-1000, "kept 1"), ev(now, "kept 2"), ev(now+3*60*60*1000, "future"))
	if err != nil {
		t.Fatal(err)
	}
	r := out.RejectedLogEventsInfo
	if r == nil || aws.ToInt32(r.TooOldLogEventEndIndex) != 1 || aws.ToInt32(r.TooNewLogEventStartIndex) != 3 || r.ExpiredLogEventEndIndex != nil {
		t.Fatalf("rejectedLogEventsInfo = %+v", r)
	}
	// Past the group's retention: expired.
	if _, err := e.client.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	out, err = put(ev(now-2*day, "expired"), ev(now, "kept 3"))
	if err != nil || out.RejectedLogEventsInfo == nil || aws.ToInt32(out.RejectedLogEventsInfo.ExpiredLogEventEndIndex) != 1 {
		t.Fatalf("expired: %+v %v", out, err)
	}
	got, err := e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil || !same(outMessages(got.Events), []string{"kept 1", "kept 2", "kept 3"}) {
		t.Fatalf("stored = %q, %v", outMessages(got.Events), err)
	}
}

// TestPutLogEventsTakesAFullBatch: a batch at CloudWatch's limit (1,048,576
// bytes counting 26 bytes an event) is more than a megabyte on the wire, and
// is taken whole.
func TestPutLogEventsTakesAFullBatch(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.group(t, "g")
	e.stream(t, "g", "s")
	now := e.nowMillis()
	const events = 1000
	msg := strings.Repeat("x", 1_048_576/events-26)
	batch := make([]types.InputLogEvent, events)
	for i := range batch {
		batch[i] = types.InputLogEvent{Timestamp: aws.Int64(now), Message: aws.String(msg)}
	}
	if _, err := e.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"),
		LogStreamName: aws.String("s"), LogEvents: batch}); err != nil {
		t.Fatalf("PutLogEvents of a full batch: %v", err)
	}
	out, err := e.client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"),
		LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true), Limit: aws.Int32(10_000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != events {
		t.Errorf("GetLogEvents = %d events; want the batch's %d", len(out.Events), events)
	}
}
