package logsapi

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/wharf-ecs/wharf/internal/logsapi/logstore"
)

// GetLogEvents pages through one stream, forward or backward.
//
// Its tokens name a gap between events: "f/POS" reads the events from POS
// on, "b/POS" the events before POS. A page's nextForwardToken is the gap
// after its last event and its nextBackwardToken the gap before its first,
// so an empty page answers with the token it was sent: that is how callers
// know they have reached the end (and how followers poll for more).
func (a *API) GetLogEvents(ctx context.Context, in *getLogEventsInput) (*getLogEventsOutput, error) {
	group, err := a.group(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	stream, err := requiredStream(in.LogStreamName)
	if err != nil {
		return nil, err
	}
	lo, hi, err := timeRange(in.StartTime, in.EndTime)
	if err != nil {
		return nil, err
	}
	if in.EndTime != nil {
		hi-- // GetLogEvents' endTime is exclusive
	}
	n, err := limit(in.Limit, maxPageEvents, maxPageEvents)
	if err != nil {
		return nil, err
	}
	p := logstore.Page{MinTime: lo, MaxTime: hi, Limit: n, MaxBytes: maxPageBytes}
	switch {
	case in.NextToken != nil:
		if p.Forward, p.From, err = parsePosition(*in.NextToken); err != nil {
			return nil, err
		}
	case in.StartFromHead != nil && *in.StartFromHead:
		p.Forward, p.From = true, logstore.Key{Time: lo}
	default:
		// The newest events first: read backward from the end.
		p.From = logstore.Key{Time: math.MaxInt64}
	}
	evs, err := a.logs.Read(group, stream, p)
	if err != nil {
		return nil, storeErr(err, group, stream)
	}
	out := &getLogEventsOutput{Events: make([]outputLogEvent, len(evs))}
	for i, e := range evs {
		out.Events[i] = outputLogEvent{Timestamp: e.Time, Message: e.Message, IngestionTime: e.Ingested}
	}
	switch {
	case len(evs) > 0:
		out.NextForwardToken = position(true, evs[len(evs)-1].Key.Next())
		out.NextBackwardToken = position(false, evs[0].Key)
	case in.NextToken != nil:
		out.NextForwardToken, out.NextBackwardToken = position(true, p.From), position(false, p.From)
	default:
		// Nothing in range: both tokens name its start, so that a caller
		// polling forward sees the events that arrive later.
		out.NextForwardToken, out.NextBackwardToken = position(true, logstore.Key{Time: lo}), position(false, logstore.Key{Time: lo})
	}
	return out, nil
}

// position formats a gap as a GetLogEvents token: f/ or b/ and 40 digits.
func position(forward bool, k logstore.Key) string {
	d := "b"
	if forward {
		d = "f"
	}
	return fmt.Sprintf("%s/%020d%020d", d, k.Time, k.Seq)
}

func parsePosition(tok string) (forward bool, k logstore.Key, err error) {
	bad := invalid("The specified nextToken is invalid: pass a nextForwardToken or nextBackwardToken of a previous GetLogEvents answer unchanged.")
	if len(tok) != 42 || tok[1] != '/' || tok[0] != 'f' && tok[0] != 'b' {
		return false, k, bad
	}
	t, err1 := strconv.ParseInt(tok[2:22], 10, 64)
	s, err2 := strconv.ParseUint(tok[22:], 10, 64)
	if err1 != nil || err2 != nil || t < 0 || tok[2] == '+' || tok[22] == '+' {
		return false, k, bad
	}
	return tok[0] == 'f', logstore.Key{Time: t, Seq: s}, nil
}

// eventID is a FilterLogEvents eventId: the event's position, unique in the
// store and stable across calls.
func eventID(k logstore.Key) string { return fmt.Sprintf("%020d%020d", k.Time, k.Seq) }
