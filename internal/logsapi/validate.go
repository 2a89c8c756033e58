package logsapi

import (
	"slices"
	"strconv"
	"strings"
)

// Limits of the CloudWatch Logs model and documentation.
const (
	maxNameLen       = 512
	maxBatchBytes    = 1_048_576 // messages plus 26 bytes an event
	maxBatchEvents   = 10_000
	maxEventBytes    = maxBatchBytes - 26
	maxBatchSpan     = 24 * 60 * 60 * 1000 // ms
	maxFutureMillis  = 2 * 60 * 60 * 1000
	maxPastMillis    = 14 * 24 * 60 * 60 * 1000
	maxPageBytes     = 1 << 20
	maxPageEvents    = 10_000
	maxDescribeLimit = 50
	maxTags          = 50
	maxPatternLen    = 1024
)

// retentionDays are the values PutRetentionPolicy accepts.
var retentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// checkGroupName validates a log group name: 1 to 512 of a-z A-Z 0-9 _ - / . #.
func checkGroupName(name, member string) error {
	if name == "" || len(name) > maxNameLen {
		return invalid("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length between 1 and %d (it has %d).", member, maxNameLen, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-/#", c) >= 0) {
			return invalid("1 validation error detected: Value %s at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+ (it holds %s at position %d).",
				strconv.Quote(name), member, describeChar(name, i), i+1)
		}
	}
	return nil
}

// checkStreamName validates a log stream name: 1 to 512 characters, neither
// ':' nor '*'.
func checkStreamName(name, member string) error {
	if name == "" || len(name) > maxNameLen {
		return invalid("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length between 1 and %d (it has %d).", member, maxNameLen, len(name))
	}
	if i := strings.IndexAny(name, ":*"); i >= 0 {
		return invalid("1 validation error detected: Value %s at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]* (a log stream name can hold neither ':' nor '*').", strconv.Quote(name), member)
	}
	return nil
}

func describeChar(s string, i int) string {
	c := s[i]
	switch {
	case c == ' ':
		return "a space"
	case c > ' ' && c < 0x7f:
		return strconv.Quote(string(c))
	}
	return "the byte " + strconv.Quote(string(c))
}

func required[T any](v *T, member string) (T, error) {
	if v == nil {
		var zero T
		return zero, invalid("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null.", member)
	}
	return *v, nil
}

// requiredGroup and requiredStream read and validate the names of requests
// that take them as plain members.
func requiredGroup(v *string) (string, error) {
	name, err := required(v, "logGroupName")
	if err != nil {
		return "", err
	}
	return name, checkGroupName(name, "logGroupName")
}

func requiredStream(v *string) (string, error) {
	name, err := required(v, "logStreamName")
	if err != nil {
		return "", err
	}
	return name, checkStreamName(name, "logStreamName")
}

func checkRetention(days int32) error {
	if slices.Contains(retentionDays, days) {
		return nil
	}
	vals := make([]string, len(retentionDays))
	for i, d := range retentionDays {
		vals[i] = strconv.Itoa(int(d))
	}
	return invalid("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [%s]. To keep events forever, use DeleteRetentionPolicy.", days, strings.Join(vals, ", "))
}

// limit reads an optional limit member between 1 and most, default def.
func limit(v *int32, most, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 || int(*v) > most {
		return 0, invalid("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d.", *v, most)
	}
	return int(*v), nil
}

// timeRange reads optional startTime and endTime (ms since the epoch).
func timeRange(start, end *int64) (int64, int64, error) {
	lo, hi := int64(0), int64(1<<63-1)
	if start != nil {
		if *start < 0 {
			return 0, 0, invalid("1 validation error detected: Value '%d' at 'startTime' failed to satisfy constraint: Member must have value greater than or equal to 0.", *start)
		}
		lo = *start
	}
	if end != nil {
		if *end < 0 {
			return 0, 0, invalid("1 validation error detected: Value '%d' at 'endTime' failed to satisfy constraint: Member must have value greater than or equal to 0.", *end)
		}
		hi = *end
	}
	if start != nil && end != nil && *start > *end {
		return 0, 0, invalid("startTime (%d) must not be after endTime (%d).", *start, *end)
	}
	return lo, hi, nil
}
