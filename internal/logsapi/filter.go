package logsapi

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/logsapi/logstore"
)

// maxScanned bounds the events one FilterLogEvents call examines; a search
// that goes on answers what it found with a nextToken, as CloudWatch does.
const maxScanned = 200_000

// FilterLogEvents searches a group's streams, interleaved by time, for the
// events a filter pattern matches. A page without nextToken ends the search;
// a page may be short, or empty, and still have one.
func (a *API) FilterLogEvents(ctx context.Context, in *filterLogEventsInput) (*filterLogEventsOutput, error) {
	group, err := a.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	p := logstore.Page{Forward: true, Limit: maxPageEvents, MaxBytes: maxPageBytes, MaxScanned: maxScanned}
	switch {
	case len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != nil:
		return nil, invalid("Give logStreamNames or logStreamNamePrefix, not both.")
	case len(in.LogStreamNames) > 100:
		return nil, invalid("1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length less than or equal to 100.")
	case len(in.LogStreamNames) > 0:
		names := map[string]bool{}
		for _, n := range in.LogStreamNames {
			if err := checkStreamName(n, "logStreamNames.member"); err != nil {
				return nil, err
			}
			names[n] = true
		}
		p.Streams = func(name string) bool { return names[name] }
	case in.LogStreamNamePrefix != nil:
		prefix := *in.LogStreamNamePrefix
		if err := checkStreamName(prefix, "logStreamNamePrefix"); err != nil {
			return nil, err
		}
		p.Streams = func(name string) bool { return strings.HasPrefix(name, prefix) }
	}
	if p.MinTime, p.MaxTime, err = timeRange(in.StartTime, in.EndTime); err != nil {
		return nil, err
	}
	if p.Limit, err = limit(in.Limit, maxPageEvents, maxPageEvents); err != nil {
		return nil, err
	}
	pat, err := parsePattern(deref(in.FilterPattern))
	if err != nil {
		return nil, err
	}
	if pat != nil {
		p.Match = pat.match
	}
	switch {
	case in.NextToken != nil:
		if p.Forward, p.From, err = parseFilterToken(*in.NextToken); err != nil {
			return nil, err
		}
	case in.StartFromHead != nil && !*in.StartFromHead:
		p.Forward, p.From = false, logstore.Key{Time: math.MaxInt64}
	default:
		p.From = logstore.Key{Time: p.MinTime}
	}
	evs, more, err := a.logs.Scan(group, p)
	if err != nil {
		return nil, storeErr(err, group, "")
	}
	out := &filterLogEventsOutput{Events: make([]filteredLogEvent, len(evs))}
	for i, e := range evs {
		out.Events[i] = filteredLogEvent{LogStreamName: e.Stream, Timestamp: e.Time, Message: e.Message,
			IngestionTime: e.Ingested, EventID: eventID(e.Key)}
	}
	if !p.Forward {
		// Newest first, as startFromHead false asks.
		for i, j := 0, len(out.Events)-1; i < j; i, j = i+1, j-1 {
			out.Events[i], out.Events[j] = out.Events[j], out.Events[i]
		}
	}
	if more != nil {
		t := filterToken(p.Forward, *more)
		out.NextToken = &t
	}
	return out, nil
}

// filterToken is FilterLogEvents' nextToken: the direction and the gap to
// continue from. It differs in form from GetLogEvents' tokens so that one
// is not mistaken for the other.
func filterToken(forward bool, k logstore.Key) string {
	d := 'B'
	if forward {
		d = 'F'
	}
	return fmt.Sprintf("%c1-%020d-%020d", d, k.Time, k.Seq)
}

func parseFilterToken(tok string) (bool, logstore.Key, error) {
	bad := invalid("The specified nextToken is invalid: pass the nextToken of the previous FilterLogEvents answer unchanged.")
	if len(tok) != 44 || tok[0] != 'F' && tok[0] != 'B' || tok[1:3] != "1-" || tok[23] != '-' {
		return false, logstore.Key{}, bad
	}
	t, err1 := strconv.ParseInt(tok[3:23], 10, 64)
	s, err2 := strconv.ParseUint(tok[24:], 10, 64)
	if err1 != nil || err2 != nil || t < 0 || tok[3] == '+' || tok[24] == '+' {
		return false, logstore.Key{}, bad
	}
	return tok[0] == 'F', logstore.Key{Time: t, Seq: s}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestMetricFilter tells which of up to 50 sample messages a filter pattern
// matches: a way to try a pattern before searching with it.
func (a *API) TestMetricFilter(ctx context.Context, in *testMetricFilterInput) (*testMetricFilterOutput, error) {
	s, err := required(in.FilterPattern, "filterPattern")
	if err != nil {
		return nil, err
	}
	if len(in.LogEventMessages) < 1 || len(in.LogEventMessages) > 50 {
		return nil, invalid("1 validation error detected: Value at 'logEventMessages' failed to satisfy constraint: Member must have length between 1 and 50 (it has %d).", len(in.LogEventMessages))
	}
	pat, err := parsePattern(s)
	if err != nil {
		return nil, err
	}
	out := &testMetricFilterOutput{}
	for i, m := range in.LogEventMessages {
		if pat.match(m) {
			out.Matches = append(out.Matches, metricFilterMatchRecord{EventNumber: int64(i + 1), EventMessage: m, ExtractedValues: map[string]string{}})
		}
	}
	return out, nil
}
