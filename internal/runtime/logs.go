package runtime

import (
	"context"
	"time"
)

// LogReader is the optional capability of reading what a container wrote to
// its standard output and error, so the agent can ship it (the awslogs log
// driver). A runtime without it runs such containers with their output kept
// locally only.
type LogReader interface {
	// Logs calls fn with each line the container wrote, in the order the
	// runtime keeps them: from the first line timestamped at or after since
	// (the zero time: the first line of all) on, including any later line
	// whose timestamp happens to be earlier. Reading from a line's own
	// timestamp therefore starts at that line or an earlier one with the
	// same timestamp, never after it. Without follow, Logs returns after
	// the last line written so far; with follow, it waits for more until
	// the container has stopped and everything it wrote was read, or ctx
	// ends. An error from fn stops the reading and is returned.
	Logs(ctx context.Context, id string, since time.Time, follow bool, fn func(LogLine) error) error
}

// LogLine is one line of a container's output.
type LogLine struct {
	// Time is when the runtime received the line, to the nanosecond.
	Time   time.Time
	Stderr bool
	// Text is the line without its line ending. It is valid only during
	// the call to fn.
	Text []byte
}
