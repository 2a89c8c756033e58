package autoscaling

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Timezone names resolve on hosts without a zoneinfo database
)

// Schedule says when a scheduled action fires.
type Schedule interface {
	// Next is the first firing strictly after t; false when there is none.
	Next(t time.Time) (time.Time, bool)
}

// ScheduleSpec is a scheduled action's schedule as PutScheduledAction takes
// it.
type ScheduleSpec struct {
	Expr     string // at(...), rate(...) or cron(...)
	Timezone string // IANA name; "" is UTC
	// Start and End bound the firings (zero: unbounded). A rate schedule
	// counts its periods from Start, else from Created.
	Start, End time.Time
	Created    time.Time
}

// ParseSchedule checks a schedule and returns it. Errors are meant for the
// caller of PutScheduledAction.
func ParseSchedule(s ScheduleSpec) (Schedule, error) {
	loc := time.UTC
	if s.Timezone != "" {
		l, err := time.LoadLocation(s.Timezone)
		if err != nil || strings.HasPrefix(s.Timezone, "/") {
			return nil, fmt.Errorf("Timezone %q is not a time zone name of the IANA database (such as Etc/GMT+9 or Pacific/Tahiti)", s.Timezone)
		}
		loc = l
	}
	if !s.Start.IsZero() && !s.End.IsZero() && !s.End.After(s.Start) {
		return nil, errors.New("EndTime must be after StartTime")
	}
	expr := strings.TrimSpace(s.Expr)
	var inner Schedule
	switch {
	case strings.HasPrefix(expr, "at(") && strings.HasSuffix(expr, ")"):
		t, err := time.ParseInLocation("2006-01-02T15:04:05", expr[3:len(expr)-1], loc)
		if err != nil {
			return nil, fmt.Errorf("the schedule %s is not at(yyyy-mm-ddThh:mm:ss), such as at(2026-11-21T18:30:00)", expr)
		}
		inner = at(t)
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		d, err := parseRate(expr[5 : len(expr)-1])
		if err != nil {
			return nil, fmt.Errorf("the schedule %s is not rate(value unit): %v", expr, err)
		}
		anchor := s.Start
		if anchor.IsZero() {
			anchor = s.Created.Add(d)
		}
		inner = rate{anchor: anchor, period: d}
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		c, err := parseCron(expr[5:len(expr)-1], loc)
		if err != nil {
			return nil, fmt.Errorf("the schedule %s is not a cron expression of six fields (minutes hours day-of-month month day-of-week year, such as cron(0 18 ? * MON-FRI *)): %v", expr, err)
		}
		inner = c
	default:
		return nil, fmt.Errorf("the schedule %q must be at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)", s.Expr)
	}
	return bounded{inner, s.Start, s.End}, nil
}

// bounded keeps a schedule's firings within [start, end].
type bounded struct {
	s          Schedule
	start, end time.Time
}

func (b bounded) Next(t time.Time) (time.Time, bool) {
	if !b.start.IsZero() && t.Before(b.start) {
		t = b.start.Add(-time.Nanosecond)
	}
	n, ok := b.s.Next(t)
	if !ok || (!b.end.IsZero() && n.After(b.end)) {
		return time.Time{}, false
	}
	return n, true
}

type at time.Time

func (a at) Next(t time.Time) (time.Time, bool) {
	if time.Time(a).After(t) {
		return time.Time(a), true
	}
	return time.Time{}, false
}

// rate fires at anchor and every period after it.
type rate struct {
	anchor time.Time
	period time.Duration
}

func (r rate) Next(t time.Time) (time.Time, bool) {
	if t.Before(r.anchor) {
		return r.anchor, true
	}
	k := t.Sub(r.anchor)/r.period + 1
	return r.anchor.Add(k * r.period), true
}

func parseRate(s string) (time.Duration, error) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 {
		return 0, errors.New("the value must be a whole number of at least 1, followed by minute(s), hour(s) or day(s)")
	}
	var d time.Duration
	switch strings.TrimSpace(unit) {
	case "minute", "minutes":
		d = time.Minute
	case "hour", "hours":
		d = time.Hour
	case "day", "days":
		d = 24 * time.Hour
	default:
		return 0, fmt.Errorf("the unit %q must be minute(s), hour(s) or day(s)", unit)
	}
	if int64(n) > int64(100*365*24*time.Hour/d) {
		return 0, errors.New("the period must be under 100 years")
	}
	return time.Duration(n) * d, nil
}
