package logsapi

import (
	"context"
	"fmt"

	"github.com/wharf-ecs/wharf/internal/logsapi/logstore"
)

// PutLogEvents appends a batch of events to a stream. As in CloudWatch Logs
// today the sequence token is accepted and ignored, and events too old, past
// the group's retention or too far in the future are rejected (and reported)
// while the rest are stored.
func (a *API) PutLogEvents(ctx context.Context, in *putLogEventsInput) (*putLogEventsOutput, error) {
	group, err := requiredGroup(in.LogGroupName)
	if err != nil {
		return nil, err
	}
	stream, err := requiredStream(in.LogStreamName)
	if err != nil {
		return nil, err
	}
	evs, err := checkBatch(in.LogEvents)
	if err != nil {
		return nil, err
	}
	g, st, err := a.logs.Stream(group, stream)
	if err != nil {
		return nil, storeErr(err, group, stream)
	}
	now := a.now()
	valid, rejected := screen(evs, now.UnixMilli(), g.Cutoff(now))
	if len(valid) > 1 && valid[len(valid)-1].Timestamp-valid[0].Timestamp > maxBatchSpan {
		return nil, invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours: split it.")
	}
	out := &putLogEventsOutput{RejectedLogEventsInfo: rejected, NextSequenceToken: sequenceToken(max(st.LastSeq, 1))}
	if len(valid) == 0 {
		return out, nil
	}
	res, err := a.logs.Append(group, stream, valid, now.UnixMilli())
	if err != nil {
		return nil, storeErr(err, group, stream)
	}
	out.NextSequenceToken = sequenceToken(res.LastSeq)
	if a.changed != nil {
		a.changed(res.Total)
	}
	return out, nil
}

// checkBatch validates a batch's shape: the number of events, each event's
// members and size, the batch's size and its chronological order.
func checkBatch(in []inputLogEvent) ([]logstore.Input, error) {
	if len(in) == 0 {
		return nil, invalid("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1.")
	}
	if len(in) > maxBatchEvents {
		return nil, invalid("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to %d (the batch has %d events): split it.", maxBatchEvents, len(in))
	}
	evs := make([]logstore.Input, len(in))
	size := 0
	for i, e := range in {
		member := fmt.Sprintf("logEvents.%d.member", i+1)
		switch {
		case e.Timestamp == nil:
			return nil, invalid("1 validation error detected: Value null at '%s.timestamp' failed to satisfy constraint: Member must not be null.", member)
		case *e.Timestamp < 0:
			return nil, invalid("1 validation error detected: Value '%d' at '%s.timestamp' failed to satisfy constraint: Member must have value greater than or equal to 0.", *e.Timestamp, member)
		case e.Message == nil:
			return nil, invalid("1 validation error detected: Value null at '%s.message' failed to satisfy constraint: Member must not be null.", member)
		case *e.Message == "":
			return nil, invalid("1 validation error detected: Value '' at '%s.message' failed to satisfy constraint: Member must have length greater than or equal to 1.", member)
		case len(*e.Message) > maxEventBytes:
			return nil, invalid("Log event too large: event %d is %d bytes; the limit is %d.", i, len(*e.Message), maxEventBytes)
		}
		if i > 0 && *e.Timestamp < evs[i-1].Timestamp {
			return nil, invalid("Log events in a single PutLogEvents request must be in chronological order: event %d (timestamp %d) comes before event %d (timestamp %d).", i, *e.Timestamp, i-1, evs[i-1].Timestamp)
		}
		evs[i] = logstore.Input{Timestamp: *e.Timestamp, Message: *e.Message}
		size += len(*e.Message) + logstore.EventOverhead
	}
	if size > maxBatchBytes {
		return nil, invalid("Upload too large: %d bytes exceeds limit of %d (messages plus 26 bytes an event): split the batch.", size, maxBatchBytes)
	}
	return evs, nil
}

// screen splits off the events CloudWatch rejects without failing the call:
// older than 14 days or than the group's retention (cutoff, 0: none) at the
// head of the batch, more than two hours ahead at its tail.
func screen(evs []logstore.Input, now, cutoff int64) ([]logstore.Input, *rejectedLogEventsInfo) {
	var info rejectedLogEventsInfo
	rejected := false
	old := 0
	for old < len(evs) && evs[old].Timestamp < now-maxPastMillis {
		old++
	}
	if old > 0 {
		info.TooOldLogEventEndIndex, rejected = ptr32(old), true
	}
	expired := 0
	for expired < len(evs) && evs[expired].Timestamp < cutoff {
		expired++
	}
	if expired > 0 {
		info.ExpiredLogEventEndIndex, rejected = ptr32(expired), true
	}
	end := len(evs)
	for end > 0 && evs[end-1].Timestamp > now+maxFutureMillis {
		end--
	}
	if end < len(evs) {
		info.TooNewLogEventStartIndex, rejected = ptr32(end), true
	}
	start := min(max(old, expired), end)
	if !rejected {
		return evs, nil
	}
	return evs[start:end], &info
}

func ptr32(n int) *int32 { v := int32(n); return &v }
