package autoscaling

import (
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestScheduleNext(t *testing.T) {
	created := mustTime(t, "2026-11-21T10:00:00Z")
	for _, tc := range []struct {
		spec  ScheduleSpec
		after string
		want  string // "" for none
	}{
		{ScheduleSpec{Expr: "at(2026-11-21T18:30:00)"}, "2026-11-21T10:00:00Z", "2026-11-21T18:30:00Z"},
		{ScheduleSpec{Expr: "at(2026-11-21T18:30:00)"}, "2026-11-21T18:30:00Z", ""},
		{ScheduleSpec{Expr: "at(2026-11-21T18:30:00)", Timezone: "Europe/Paris"}, "2026-11-21T10:00:00Z", "2026-11-21T17:30:00Z"},
		{ScheduleSpec{Expr: "rate(5 minutes)", Created: created}, "2026-11-21T10:00:00Z", "2026-11-21T10:05:00Z"},
		{ScheduleSpec{Expr: "rate(5 minutes)", Created: created}, "2026-11-21T10:07:00Z", "2026-11-21T10:10:00Z"},
		{ScheduleSpec{Expr: "rate(1 hour)", Created: created, Start: mustTime(t, "2026-11-22T00:00:00Z")}, "2026-11-21T10:00:00Z", "2026-11-22T00:00:00Z"},
		{ScheduleSpec{Expr: "rate(1 day)", Created: created, End: mustTime(t, "2026-11-21T12:00:00Z")}, "2026-11-21T10:00:00Z", ""},
		// 18:00 on weekdays: the 21st is a Saturday.
		{ScheduleSpec{Expr: "cron(0 18 ? * MON-FRI *)"}, "2026-11-21T10:00:00Z", "2026-11-23T18:00:00Z"},
		{ScheduleSpec{Expr: "cron(0/15 * * * ? *)"}, "2026-11-21T10:07:00Z", "2026-11-21T10:15:00Z"},
		{ScheduleSpec{Expr: "cron(30 9 1 * ? *)"}, "2026-11-21T10:00:00Z", "2026-12-01T09:30:00Z"},
		{ScheduleSpec{Expr: "cron(0 0 L * ? *)"}, "2026-02-01T00:00:00Z", "2026-02-28T00:00:00Z"},
		{ScheduleSpec{Expr: "cron(0 12 ? * 6L *)"}, "2026-11-01T00:00:00Z", "2026-11-27T12:00:00Z"},
		{ScheduleSpec{Expr: "cron(0 12 ? * 2#1 *)"}, "2026-11-21T00:00:00Z", "2026-12-07T12:00:00Z"},
		{ScheduleSpec{Expr: "cron(0 8 15W * ? *)"}, "2026-11-01T00:00:00Z", "2026-11-16T08:00:00Z"}, // the 15th is a Sunday
		{ScheduleSpec{Expr: "cron(0 8 LW * ? *)"}, "2026-10-01T00:00:00Z", "2026-10-30T08:00:00Z"},
		{ScheduleSpec{Expr: "cron(0 0 1 JAN ? 2028)"}, "2026-11-21T00:00:00Z", "2028-01-01T00:00:00Z"},
		{ScheduleSpec{Expr: "cron(0 0 1 JAN ? 2020)"}, "2026-11-21T00:00:00Z", ""},
		{ScheduleSpec{Expr: "cron(0 9 * * ? *)", Timezone: "America/New_York"}, "2026-11-21T10:00:00Z", "2026-11-21T14:00:00Z"},
		// 02:30 does not exist on the day clocks go forward; it fires at 03:30.
		{ScheduleSpec{Expr: "cron(30 2 * * ? *)", Timezone: "Europe/Paris"}, "2026-03-29T00:00:00Z", "2026-03-29T01:30:00Z"},
	} {
		s, err := ParseSchedule(tc.spec)
		if err != nil {
			t.Errorf("ParseSchedule(%+v) = %v", tc.spec, err)
			continue
		}
		got, ok := s.Next(mustTime(t, tc.after))
		gotS := ""
		if ok {
			gotS = got.UTC().Format(time.RFC3339)
		}
		if gotS != tc.want {
			t.Errorf("%s (tz %q).Next(%s) = %q; want %q", tc.spec.Expr, tc.spec.Timezone, tc.after, gotS, tc.want)
		}
	}
}

func TestScheduleRefusesBadExpressions(t *testing.T) {
	for _, tc := range []struct{ expr, tz, want string }{
		{"at(2026-13-01T00:00:00)", "", "at(yyyy-mm-ddThh:mm:ss)"},
		{"at(2026-11-21 10:00)", "", "at(yyyy-mm-ddThh:mm:ss)"},
		{"rate(0 minutes)", "", "at least 1"},
		{"rate(5 weeks)", "", "minute(s), hour(s) or day(s)"},
		{"rate(five minutes)", "", "whole number"},
		{"cron(0 18 * * *)", "", "has 5 fields"},
		{"cron(0 18 * * MON *)", "", "exactly one of day-of-month and day-of-week must be ?"},
		{"cron(0 18 ? * ? *)", "", "exactly one"},
		{"cron(60 18 ? * MON *)", "", "minutes: \"60\" must be 0-59"},
		{"cron(0 18 ? FOO MON *)", "", "month"},
		{"cron(0 18 ? * 2#6 *)", "", "must be 1-5"},
		{"cron(0 18-10 ? * MON *)", "", "runs backwards"},
		{"cron(0 18 ? * MON 1960)", "", "1970-2199"},
		{"every day", "", "must be at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)"},
		{"rate(1 day)", "Mars/Olympus", "not a time zone name"},
	} {
		_, err := ParseSchedule(ScheduleSpec{Expr: tc.expr, Timezone: tc.tz})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSchedule(%q, %q) = %v; want an error containing %q", tc.expr, tc.tz, err, tc.want)
		}
	}
}

// FuzzSchedule parses arbitrary schedules: no panic, and a next firing is
// always after the time asked about.
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"at(2026-11-21T18:30:00)", "rate(5 minutes)", "cron(0 18 ? * MON-FRI *)", "cron(0/15 * L * ? 2030)",
		"cron(0 12 ? * 6L *)", "cron(0 12 ? * 2#1 *)", "cron(0 8 LW * ? *)", "cron(*/7 1-5/2 15W JAN-MAR ? 1970-2199/9)"} {
		f.Add(s, "Europe/Paris", int64(0))
	}
	f.Fuzz(func(t *testing.T, expr, tz string, at int64) {
		s, err := ParseSchedule(ScheduleSpec{Expr: expr, Timezone: tz, Created: t0})
		if err != nil {
			return
		}
		after := t0.Add(time.Duration(at%(1<<50)) * time.Second / 1000)
		if n, ok := s.Next(after); ok && !n.After(after) {
			t.Fatalf("%s in %q: Next(%s) = %s, not after", expr, tz, after, n)
		}
	})
}
