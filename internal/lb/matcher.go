package lb

import (
	"fmt"
	"strconv"
	"strings"
)

// Matcher is a health check's success codes: single HTTP status codes and
// ranges, as "200", "200,202" or "200-299".
type Matcher struct {
	ranges [][2]int
}

// ParseMatcher parses a matcher whose codes must lie within [lo, hi].
func ParseMatcher(s string, lo, hi int) (Matcher, error) {
	var m Matcher
	if s == "" {
		return m, fmt.Errorf("the matcher is empty: give codes such as 200, 200,202 or 200-299")
	}
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(strings.TrimSpace(part), "-")
		from, err1 := strconv.Atoi(a)
		to := from
		var err2 error
		if isRange {
			to, err2 = strconv.Atoi(b)
		}
		if err1 != nil || err2 != nil || from > to {
			return Matcher{}, fmt.Errorf("invalid matcher %q: give codes such as 200, 200,202 or 200-299", s)
		}
		if from < lo || to > hi {
			return Matcher{}, fmt.Errorf("invalid matcher %q: codes must be between %d and %d", s, lo, hi)
		}
		m.ranges = append(m.ranges, [2]int{from, to})
	}
	return m, nil
}

// Match reports whether code is a success.
func (m Matcher) Match(code int) bool {
	for _, r := range m.ranges {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}
