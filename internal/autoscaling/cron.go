package autoscaling

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cron is a cron expression of Application Auto Scaling (as in EventBridge):
// six fields, minutes hours day-of-month month day-of-week year, with
// * (every), ? (no value, in one of the two day fields), lists (a,b),
// ranges (a-b), increments (a/n, a-b/n, */n), month names JAN-DEC, day
// names SUN-SAT (1 is Sunday), and in the day fields L (last day of the
// month; xL the month's last weekday x), W (nW the weekday nearest day n;
// LW the last weekday) and # (x#n the nth weekday x of the month). It is
// evaluated in its time zone.
type cron struct {
	minutes, hours uint64 // bit i: minute or hour i
	months         uint16 // bit i: month i (1-12)
	years          [4]uint64
	dom            domSpec
	dow            dowSpec
	loc            *time.Location
}

const (
	minYear = 1970
	maxYear = 2199
)

type domSpec struct {
	any         bool
	days        uint32 // bit i: day i (1-31)
	last        bool   // L
	lastWeekday bool   // LW
	nearest     int    // nW: the weekday nearest day n
}

type dowSpec struct {
	any    bool
	days   uint8 // bit i: day i (1 Sunday - 7 Saturday)
	lastOf int   // xL: the month's last weekday x
	nth    [2]int
}

var monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
var dayNames = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

func parseCron(expr string, loc *time.Location) (*cron, error) {
	f := strings.Fields(expr)
	if len(f) != 6 {
		return nil, fmt.Errorf("it has %d fields", len(f))
	}
	c := &cron{loc: loc}
	var err error
	var bits uint64
	if c.minutes, err = parseField(f[0], "minutes", 0, 59, nil); err != nil {
		return nil, err
	}
	if c.hours, err = parseField(f[1], "hours", 0, 23, nil); err != nil {
		return nil, err
	}
	if bits, err = parseField(f[3], "month", 1, 12, monthNames); err != nil {
		return nil, err
	}
	c.months = uint16(bits)
	if err := c.parseYears(f[5]); err != nil {
		return nil, err
	}
	domQ, dowQ := f[2] == "?", f[4] == "?"
	if domQ == dowQ {
		return nil, errors.New("exactly one of day-of-month and day-of-week must be ?")
	}
	if c.dom, err = parseDOM(f[2]); err != nil {
		return nil, err
	}
	if c.dow, err = parseDOW(f[4]); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *cron) parseYears(f string) error {
	if f == "*" {
		for i := range c.years {
			c.years[i] = ^uint64(0)
		}
		return nil
	}
	for _, item := range strings.Split(f, ",") {
		lo, hi, step, err := parseRange(item, minYear, maxYear, nil)
		if err != nil {
			return fmt.Errorf("year: %v", err)
		}
		for y := lo; y <= hi; y += step {
			o := y - minYear
			c.years[o/64] |= 1 << (o % 64)
		}
	}
	return nil
}

// parseField reads a list of values, ranges and increments into a bit set.
func parseField(f, name string, lo, hi int, names []string) (uint64, error) {
	var bits uint64
	for _, item := range strings.Split(f, ",") {
		a, b, step, err := parseRange(item, lo, hi, names)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", name, err)
		}
		for v := a; v <= b; v += step {
			bits |= 1 << v
		}
	}
	return bits, nil
}

// parseRange reads *, a, a-b, */n, a/n or a-b/n; a/n runs to hi.
func parseRange(item string, lo, hi int, names []string) (a, b, step int, err error) {
	step = 1
	r, s, stepped := strings.Cut(item, "/")
	if stepped {
		if step, err = strconv.Atoi(s); err != nil || step < 1 {
			return 0, 0, 0, fmt.Errorf("the increment in %q must be a whole number of at least 1", item)
		}
		item = r
		b = hi
	}
	if item == "*" {
		return lo, hi, step, nil
	}
	first, last, isRange := strings.Cut(item, "-")
	if a, err = fieldValue(first, lo, hi, names); err != nil {
		return 0, 0, 0, err
	}
	switch {
	case isRange:
		if b, err = fieldValue(last, lo, hi, names); err != nil {
			return 0, 0, 0, err
		}
		if b < a {
			return 0, 0, 0, fmt.Errorf("the range %q runs backwards", item)
		}
	case !stepped:
		b = a
	}
	return a, b, step, nil
}

func fieldValue(s string, lo, hi int, names []string) (int, error) {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return lo + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		if names != nil {
			return 0, fmt.Errorf("%q must be %d-%d or a name %s-%s", s, lo, hi, names[0], names[len(names)-1])
		}
		return 0, fmt.Errorf("%q must be %d-%d", s, lo, hi)
	}
	return v, nil
}

func parseDOM(f string) (domSpec, error) {
	switch {
	case f == "?" || f == "*":
		return domSpec{any: true}, nil
	case f == "L":
		return domSpec{last: true}, nil
	case f == "LW":
		return domSpec{lastWeekday: true}, nil
	case strings.HasSuffix(f, "W"):
		n, err := fieldValue(f[:len(f)-1], 1, 31, nil)
		if err != nil {
			return domSpec{}, fmt.Errorf("day-of-month: %v", err)
		}
		return domSpec{nearest: n}, nil
	}
	bits, err := parseField(f, "day-of-month", 1, 31, nil)
	return domSpec{days: uint32(bits)}, err
}

func parseDOW(f string) (dowSpec, error) {
	switch {
	case f == "?" || f == "*":
		return dowSpec{any: true}, nil
	case f == "L":
		return dowSpec{days: 1 << 7}, nil
	case len(f) > 1 && strings.HasSuffix(f, "L"):
		d, err := fieldValue(f[:len(f)-1], 1, 7, dayNames)
		if err != nil {
			return dowSpec{}, fmt.Errorf("day-of-week: %v", err)
		}
		return dowSpec{lastOf: d}, nil
	}
	if d, n, ok := strings.Cut(f, "#"); ok {
		day, err := fieldValue(d, 1, 7, dayNames)
		if err != nil {
			return dowSpec{}, fmt.Errorf("day-of-week: %v", err)
		}
		k, err := strconv.Atoi(n)
		if err != nil || k < 1 || k > 5 {
			return dowSpec{}, fmt.Errorf("day-of-week: the week in %q must be 1-5", f)
		}
		return dowSpec{nth: [2]int{day, k}}, nil
	}
	bits, err := parseField(f, "day-of-week", 1, 7, dayNames)
	return dowSpec{days: uint8(bits)}, err
}

func (c *cron) yearOK(y int) bool {
	if y < minYear || y > maxYear {
		return false
	}
	o := y - minYear
	return c.years[o/64]&(1<<(o%64)) != 0
}

func daysIn(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// dayOK reports whether the date matches the day fields.
func (c *cron) dayOK(y int, m time.Month, d int) bool {
	last := daysIn(y, m)
	wd := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()) + 1 // 1 is Sunday
	switch dom := c.dom; {
	case dom.last:
		return d == last
	case dom.lastWeekday:
		return d == nearestWeekday(y, m, last)
	case dom.nearest > 0:
		return dom.nearest <= last && d == nearestWeekday(y, m, dom.nearest)
	case !dom.any:
		return dom.days&(1<<d) != 0
	}
	switch dow := c.dow; {
	case dow.lastOf > 0:
		return wd == dow.lastOf && d+7 > last
	case dow.nth[0] > 0:
		return wd == dow.nth[0] && (d-1)/7+1 == dow.nth[1]
	case !dow.any:
		return dow.days&(1<<wd) != 0
	}
	return true
}

// nearestWeekday is the weekday of the month nearest day n, not leaving
// the month.
func nearestWeekday(y int, m time.Month, n int) int {
	switch time.Date(y, m, n, 0, 0, 0, 0, time.UTC).Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == daysIn(y, m) {
			return n - 2
		}
		return n + 1
	}
	return n
}

func (c *cron) Next(t time.Time) (time.Time, bool) {
	local := t.In(c.loc)
	y, m, d := local.Date()
	// The first candidate minute is the one after t's.
	h, mi := local.Hour(), local.Minute()+1
	for y <= maxYear {
		switch {
		case !c.yearOK(y):
			y, m, d, h, mi = y+1, time.January, 1, 0, 0
			continue
		case c.months&(1<<m) == 0:
			y, m, d, h, mi = nextMonth(y, m)
			continue
		}
		if c.dayOK(y, m, d) {
			if at, ok := c.timeOfDay(y, m, d, h, mi, t); ok {
				return at, true
			}
		}
		d, h, mi = d+1, 0, 0
		if d > daysIn(y, m) {
			y, m, d, h, mi = nextMonth(y, m)
		}
	}
	return time.Time{}, false
}

func nextMonth(y int, m time.Month) (int, time.Month, int, int, int) {
	if m == time.December {
		return y + 1, time.January, 1, 0, 0
	}
	return y, m + 1, 1, 0, 0
}

// timeOfDay is the first matching time on the date from h:mi on, after t.
func (c *cron) timeOfDay(y int, m time.Month, d, h, mi int, t time.Time) (time.Time, bool) {
	for ; h < 24; h, mi = h+1, 0 {
		if c.hours&(1<<h) == 0 {
			continue
		}
		for ; mi < 60; mi++ {
			if c.minutes&(1<<mi) == 0 {
				continue
			}
			// A time a daylight saving change skips normalizes forward.
			if at := time.Date(y, m, d, h, mi, 0, 0, c.loc); at.After(t) {
				return at, true
			}
		}
	}
	return time.Time{}, false
}
