package logsapi

import (
	"strings"
	"testing"
)

// A batch over 1,048,576 bytes (messages plus 26 an event) cannot reach the
// operation through the API: its JSON is always larger still, and over the
// server's 1 MiB body limit. The check stands behind that limit anyway.
func TestCheckBatchSize(t *testing.T) {
	ts := int64(1)
	msg := strings.Repeat("x", 1000)
	batch := func(n int) []inputLogEvent {
		evs := make([]inputLogEvent, n)
		for i := range evs {
			evs[i] = inputLogEvent{Timestamp: &ts, Message: &msg}
		}
		return evs
	}
	if _, err := checkBatch(batch(1022)); err != nil { // 1022 × 1026 = 1,048,572
		t.Fatalf("checkBatch of 1,048,572 bytes: %v", err)
	}
	_, err := checkBatch(batch(1023)) // 1,049,598
	if err == nil || !strings.Contains(err.Error(), "Upload too large") {
		t.Fatalf("checkBatch of 1,049,598 bytes = %v; want Upload too large", err)
	}
	big := strings.Repeat("y", maxEventBytes+1)
	if _, err := checkBatch([]inputLogEvent{{Timestamp: &ts, Message: &big}}); err == nil || !strings.Contains(err.Error(), "Log event too large") {
		t.Fatalf("checkBatch of one event over 1 MB = %v", err)
	}
}
