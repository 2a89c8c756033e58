package cql

import (
	"strconv"
	"strings"
	"time"
)

// op is a comparison operator.
type op uint8

const (
	opEq op = iota
	opNe
	opGt
	opGe
	opLt
	opLe
	opExists
	opNotExists
	opIn
	opNotIn
	opMatches
	opNotMatches
	numOps
)

// spellings holds both ways to write each operator. String prints sym.
var spellings = [numOps]struct{ sym, word string }{
	opEq:         {"==", "equals"},
	opNe:         {"!=", "not_equals"},
	opGt:         {">", "greater_than"},
	opGe:         {">=", "greater_than_equal"},
	opLt:         {"<", "less_than"},
	opLe:         {"<=", "less_than_equal"},
	opExists:     {"exists", "exists"},
	opNotExists:  {"!exists", "not_exists"},
	opIn:         {"in", "in"},
	opNotIn:      {"!in", "not_in"},
	opMatches:    {"=~", "matches"},
	opNotMatches: {"!~", "not_matches"},
}

// positive maps a negated operator to the one it negates, and reports whether
// it was negated. task:group evaluates the positive form over the set of
// groups and then negates (see the package comment).
func (o op) positive() (op, bool) {
	switch o {
	case opNe:
		return opEq, true
	case opNotIn:
		return opIn, true
	case opNotMatches:
		return opMatches, true
	case opNotExists:
		return opExists, true
	}
	return o, false
}

func (o op) ordering() bool { return o >= opGt && o <= opLe }

// holds applies ==, !=, or an ordering to the result of a three-way compare.
func (o op) holds(c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	}
	return false
}

// opSet is a set of operators, one bit each.
type opSet uint16

func setOf(ops ...op) opSet {
	var s opSet
	for _, o := range ops {
		s |= 1 << o
	}
	return s
}

func (s opSet) has(o op) bool { return s&(1<<o) != 0 }

// String lists the set in the order the ECS guide does, for error messages.
func (s opSet) String() string {
	var names []string
	for o := op(0); o < numOps; o++ {
		if s.has(o) {
			names = append(names, spellings[o].sym)
		}
	}
	return strings.Join(names, ", ")
}

// subject is what a condition tests.
type subject uint8

const (
	subjAttribute subject = iota
	subjAgentConnected
	subjAgentVersion
	subjEC2InstanceID
	subjRegisteredAt
	subjRunningTasksCount
	subjTaskGroup
)

var (
	comparisons = setOf(opEq, opNe, opGt, opGe, opLt, opLe)
	stringTests = setOf(opEq, opNe, opIn, opNotIn, opMatches, opNotMatches)
)

// subjects is the ECS guide's list, with the operators each accepts.
var subjects = [...]struct {
	name string
	ops  opSet
}{
	subjAttribute:         {"attribute:", 1<<numOps - 1},
	subjAgentConnected:    {"agentConnected", stringTests},
	subjAgentVersion:      {"agentVersion", comparisons},
	subjEC2InstanceID:     {"ec2InstanceId", stringTests},
	subjRegisteredAt:      {"registeredAt", comparisons},
	subjRunningTasksCount: {"runningTasksCount", comparisons},
	subjTaskGroup:         {"task:group", stringTests | setOf(opExists, opNotExists)},
}

const subjectList = "agentConnected, agentVersion, attribute:<name>, ec2InstanceId, registeredAt, runningTasksCount and task:group"

// maxAttrName is the longest attribute name ECS accepts.
const maxAttrName = 128

// isAttrNameByte reports whether c may appear in an attribute name.
func isAttrNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '/' || c == '\\' || c == '.'
}

// parseVersion reads a version written in an expression: dotted numbers, no
// more. An instance's version is read leniently by compareVersion instead.
func parseVersion(s string) ([]uint64, bool) {
	var v []uint64
	for part := range strings.SplitSeq(s, ".") {
		n, ok := parseUint(part)
		if !ok {
			return nil, false
		}
		v = append(v, n)
	}
	return v, true
}

// maxDigits keeps every number the package reads within uint64 and int64.
const maxDigits = 18

func parseUint(s string) (uint64, bool) {
	if s == "" || len(s) > maxDigits {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, true
}

// compareVersion compares an instance's agent version with want, component
// by component, a missing component counting as zero. It reads the numeric
// prefix of have, after an optional v, and ignores the rest (-rc1, +build),
// so it never allocates. ok is false when have does not start with a number.
func compareVersion(have string, want []uint64) (c int, ok bool) {
	s := strings.TrimPrefix(have, "v")
	i, k := 0, 0
	for {
		start := i
		var n uint64
		for i < len(s) && '0' <= s[i] && s[i] <= '9' && i-start < maxDigits {
			n = n*10 + uint64(s[i]-'0')
			i++
		}
		if i == start || i < len(s) && '0' <= s[i] && s[i] <= '9' {
			return 0, false // no number here, or one too long to hold
		}
		var w uint64
		if k < len(want) {
			w = want[k]
		}
		k++
		if n != w {
			if n < w {
				return -1, true
			}
			return 1, true
		}
		if i+1 < len(s) && s[i] == '.' && '0' <= s[i+1] && s[i+1] <= '9' {
			i++
			continue
		}
		break
	}
	for ; k < len(want); k++ {
		if want[k] != 0 {
			return -1, true
		}
	}
	return 0, true
}

// parseDate reads the ECS guide's four date formats and returns the span the
// value names: [from, until) is the whole day for a date and the whole second
// for a time. Times without an offset are UTC.
func parseDate(s string) (from, until time.Time, ok bool) {
	var layout string
	switch {
	case len(s) == len("2006-01-02"):
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return from, until, false
		}
		return t, t.AddDate(0, 0, 1), true
	case len(s) == len("2006-01-02T15:04:05"):
		layout = "2006-01-02T15:04:05"
	default:
		layout = time.RFC3339
	}
	// time.Parse accepts fractional seconds the layout does not mention;
	// the documented formats have none, and a span needs a known width.
	if strings.ContainsRune(s, '.') {
		return from, until, false
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return from, until, false
	}
	return t, t.Add(time.Second), true
}

// parseNumber reads a plain decimal number: an optional sign, digits, and an
// optional fraction. It refuses exponents, hex, Inf and NaN, which
// strconv.ParseFloat would take but no attribute means, and it refuses long
// strings so that ParseFloat cannot fail (and allocate its error).
func parseNumber(s string) (float64, bool) {
	if len(s) == 0 || len(s) > 64 {
		return 0, false
	}
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if !digits() {
		return 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}
