package logsapi_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

func TestFilterPatterns(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	msgs := []string{
		"INFO server started on :8080",
		"ERROR database timeout after 5s",
		"WARN slow request /api/users",
		"ERROR Exiting: out of memory",
		"DEBUG cache hit ratio 0.93",
		`INFO said "hello world" twice`,
	}
	cases := []struct {
		pattern string
		want    []int // indexes into msgs
	}{
		{"", []int{0, 1, 2, 3, 4, 5}},
		{"ERROR", []int{1, 3}},
		{"ERROR timeout", []int{1}},
		{"ERROR -Exiting", []int{1}},
		{"?ERROR ?WARN", []int{1, 2, 3}},
		{"?WARN ?DEBUG -cache", []int{2}},
		{`"out of memory"`, []int{3}},
		{`"hello world"`, []int{5}},
		{`"said \"hello"`, []int{5}},
		{"error", nil}, // case-sensitive
		{"-INFO", []int{1, 2, 3, 4}},
		{"%ERROR|WARN%", []int{1, 2, 3}},
		{`%^INFO .* on :[0-9]+$%`, []int{0}},
		{"  ERROR   Exiting  ", []int{3}},
	}
	for _, c := range cases {
		out, err := e.client.TestMetricFilter(ctx, &cloudwatchlogs.TestMetricFilterInput{FilterPattern: aws.String(c.pattern), LogEventMessages: msgs})
		if err != nil {
			t.Fatalf("TestMetricFilter %q: %v", c.pattern, err)
		}
		var got []int
		for _, m := range out.Matches {
			got = append(got, int(m.EventNumber)-1)
			if aws.ToString(m.EventMessage) != msgs[m.EventNumber-1] {
				t.Errorf("match %d message %q", m.EventNumber, aws.ToString(m.EventMessage))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("pattern %q matches %v; want %v", c.pattern, got, c.want)
		}
	}
	for _, bad := range []string{`{ $.level = "ERROR" }`, "[ip, user, ...]", `"unclosed`, "%(%", "ERROR -", `a"b`} {
		_, err := e.client.TestMetricFilter(ctx, &cloudwatchlogs.TestMetricFilterInput{FilterPattern: aws.String(bad), LogEventMessages: msgs})
		wantCode(t, "pattern "+bad, err, "InvalidParameterException")
	}
}

func TestFilterLogEvents(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.group(t, "g")
	now := e.nowMillis()
	// Three streams written at interleaved times.
	for s, name := range []string{"app/web/1", "app/web/2", "other"} {
		e.stream(t, "g", name)
		for i := range 5 {
			e.put(t, "g", name, now-1000+int64(i*10+s), fmt.Sprintf("%s %d %s", name, i, []string{"ok", "ERROR"}[i%2]))
		}
	}
	filter := func(in cloudwatchlogs.FilterLogEventsInput) []string {
		t.Helper()
		in.LogGroupName = aws.String("g")
		var got []string
		p := cloudwatchlogs.NewFilterLogEventsPaginator(e.client, &in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("FilterLogEvents %+v: %v", in, err)
			}
			got = append(got, filteredMessages(page.Events)...)
		}
		return got
	}
	all := filter(cloudwatchlogs.FilterLogEventsInput{})
	if len(all) != 15 || all[0] != "app/web/1 0 ok" || all[1] != "app/web/2 0 ok" || all[2] != "other 0 ok" || all[14] != "other 4 ok" {
		t.Fatalf("interleaved = %q", all)
	}
	paged := filter(cloudwatchlogs.FilterLogEventsInput{Limit: aws.Int32(4)})
	if !same(paged, all) {
		t.Fatalf("pages of 4 = %q; want %q", paged, all)
	}
	errs := filter(cloudwatchlogs.FilterLogEventsInput{FilterPattern: aws.String("ERROR"), LogStreamNamePrefix: aws.String("app/")})
	if want := []string{"app/web/1 1 ERROR", "app/web/2 1 ERROR", "app/web/1 3 ERROR", "app/web/2 3 ERROR"}; !same(errs, want) {
		t.Fatalf("ERROR in app/ = %q; want %q", errs, want)
	}
	named := filter(cloudwatchlogs.FilterLogEventsInput{LogStreamNames: []string{"other"}, StartTime: aws.Int64(now - 1000 + 20), EndTime: aws.Int64(now - 1000 + 32)})
	if want := []string{"other 2 ok", "other 3 ERROR"}; !same(named, want) {
		t.Fatalf("other in a time range = %q; want %q", named, want)
	}
	newest := filter(cloudwatchlogs.FilterLogEventsInput{StartFromHead: aws.Bool(false), Limit: aws.Int32(2)})
	if len(newest) != 15 || newest[0] != "other 4 ok" || newest[14] != "app/web/1 0 ok" {
		t.Fatalf("newest first = %q", newest)
	}
	_, err := e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNames: []string{"other"}, LogStreamNamePrefix: aws.String("o")})
	wantCode(t, "names and prefix", err, "InvalidParameterException")
	_, err = e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("nope")})
	wantCode(t, "missing group", err, "ResourceNotFoundException")
	_, err = e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), NextToken: aws.String("f/0")})
	wantCode(t, "bad token", err, "InvalidParameterException")
	_, err = e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String("{ $.x = 1 }")})
	wantCode(t, "JSON pattern", err, "InvalidParameterException")
}

// TestTailFollow replays what `aws logs tail --follow` (aws CLI v2) does
// with FilterLogEvents: page with nextToken until a page has none, then poll
// again from the newest timestamp seen, skipping the events already shown
// by eventId. Every event must show exactly once, in order.
func TestTailFollow(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.group(t, "g")
	e.stream(t, "g", "s")
	now := e.nowMillis()
	start := now - 60_000
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), Interleaved: aws.Bool(true), StartTime: aws.Int64(start), Limit: aws.Int32(3)}
	seen := map[int64]map[string]bool{}
	var shown []string
	poll := func() {
		t.Helper()
		for i := 0; ; i++ {
			out, err := e.client.FilterLogEvents(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range out.Events {
				ts := aws.ToInt64(ev.Timestamp)
				if seen[ts] == nil {
					seen[ts] = map[string]bool{}
				}
				if !seen[ts][aws.ToString(ev.EventId)] {
					seen[ts][aws.ToString(ev.EventId)] = true
					shown = append(shown, aws.ToString(ev.Message))
				}
			}
			if out.NextToken != nil {
				in.NextToken = out.NextToken
				continue
			}
			in.NextToken = nil
			newest := int64(0)
			for ts := range seen {
				newest = max(newest, ts)
			}
			if newest > 0 {
				in.StartTime = aws.Int64(newest)
			}
			if i > 100 {
				t.Fatal("FilterLogEvents paging does not end")
			}
			return
		}
	}
	var want []string
	for round := range 4 {
		msgs := lines(fmt.Sprintf("round %d", round), 5)
		// Several events share each millisecond, also across rounds.
		for i, m := range msgs {
			e.put(t, "g", "s", now-1000+int64(round*2+i/2), m)
		}
		want = append(want, msgs...)
		poll()
	}
	// Across rounds, later events may carry earlier timestamps than the
	// newest seen; tail misses those, as on AWS. Here timestamps only grow
	// or repeat, so nothing may be missed or repeated.
	var sorted []string
	all, _ := e.client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g")})
	sorted = filteredMessages(all.Events)
	if len(shown) != len(want) || !same(shown, sorted) {
		t.Fatalf("tail showed %d events %q; want %d in stored order %q", len(shown), shown, len(want), sorted)
	}
}
