package cql

import (
	"regexp"
	"strings"
	"time"
)

// Instance is what an expression can ask about a container instance. The
// caller fills it from its snapshot; Eval only reads it.
type Instance struct {
	// Attributes maps each attribute name, built-in (ecs.instance-type,
	// ecs.availability-zone, ...) or custom, to its value. An attribute
	// without a value is present with "".
	Attributes map[string]string
	// AgentConnected is the agent's connection status.
	AgentConnected bool
	// AgentVersion is the agent's version, such as 1.14.5.
	AgentVersion string
	// EC2InstanceID is empty for an instance that has none.
	EC2InstanceID string
	// RegisteredAt is when the instance registered; zero if unknown.
	RegisteredAt time.Time
	// RunningTasksCount is the number of tasks the instance runs.
	RunningTasksCount int
	// TaskGroups holds the group of each task on the instance, such as
	// service:web or family:batch; repeats are harmless. Only task:group
	// reads it, so a caller may leave it nil when UsesTaskGroups is false.
	TaskGroups []string
}

// Expr is a parsed expression. It is immutable and safe for concurrent use.
// The zero Expr has no conditions: it matches every instance and prints as "".
type Expr struct {
	root *node
}

// Eval reports whether inst satisfies the expression.
func (e Expr) Eval(inst Instance) bool {
	if e.root == nil {
		return true
	}
	return e.root.eval(&inst)
}

// UsesTaskGroups reports whether the expression tests task:group, so that a
// caller can skip collecting Instance.TaskGroups when it does not.
func (e Expr) UsesTaskGroups() bool {
	return e.root != nil && e.root.usesTaskGroups()
}

// String returns the canonical form: symbolic operators, and, or, not(...),
// parentheses only where precedence needs them, and quotes only where a value
// needs them. Parsing it gives the same Expr. It can be longer than the text
// that was parsed (a==b becomes a == b), so it can exceed MaxLength.
func (e Expr) String() string {
	if e.root == nil {
		return ""
	}
	var b strings.Builder
	e.root.format(&b)
	return b.String()
}

type nodeKind uint8

const (
	kindTest nodeKind = iota
	kindAnd
	kindOr
	kindNot
)

// node is one concrete type, not an interface, so that eval's calls are
// static and escape analysis can keep Eval's copy of the Instance on the stack.
type node struct {
	kind nodeKind
	kids []*node // the operands of and and or (two or more), or not's one
	test *test   // for kindTest
}

func (n *node) eval(in *Instance) bool {
	switch n.kind {
	case kindAnd:
		for _, k := range n.kids {
			if !k.eval(in) {
				return false
			}
		}
		return true
	case kindOr:
		for _, k := range n.kids {
			if k.eval(in) {
				return true
			}
		}
		return false
	case kindNot:
		return !n.kids[0].eval(in)
	}
	return n.test.eval(in)
}

func (n *node) usesTaskGroups() bool {
	if n.kind == kindTest {
		return n.test.subj == subjTaskGroup
	}
	for _, k := range n.kids {
		if k.usesTaskGroups() {
			return true
		}
	}
	return false
}

func (n *node) format(b *strings.Builder) {
	switch n.kind {
	case kindAnd, kindOr:
		sep := " and "
		if n.kind == kindOr {
			sep = " or "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			// The parser flattens a or (b or c), so the only operand that
			// needs parentheses is an or inside an and.
			paren := n.kind == kindAnd && k.kind == kindOr
			if paren {
				b.WriteByte('(')
			}
			k.format(b)
			if paren {
				b.WriteByte(')')
			}
		}
	case kindNot:
		b.WriteString("not(")
		n.kids[0].format(b)
		b.WriteByte(')')
	default:
		n.test.format(b)
	}
}

// test is one compiled condition.
type test struct {
	subj subject
	attr string // the name, for attribute:<name>
	op   op
	args []string // the argument or the in-list, unquoted; none for exists

	set       map[string]struct{} // in-lists long enough to be worth hashing
	re        *regexp.Regexp      // =~ and !~, anchored at both ends
	prefix    string              // for a pattern that is prefix.*
	isPrefix  bool                // whether prefix stands in for re
	num       float64             // an attribute ordering's numeric argument
	numeric   bool                // whether num is set
	version   []uint64            // agentVersion
	count     int64               // runningTasksCount
	from, til time.Time           // registeredAt: the span [from, til)
}

// setThreshold is the list length from which in and not_in hash: below it a
// scan of a few strings beats hashing the value.
const setThreshold = 8

func (t *test) eval(in *Instance) bool {
	switch t.subj {
	case subjAttribute:
		v, ok := in.Attributes[t.attr]
		switch t.op {
		case opExists:
			return ok
		case opNotExists:
			return !ok
		}
		return ok && t.match(t.op, v)
	case subjAgentConnected:
		v := "false"
		if in.AgentConnected {
			v = "true"
		}
		return t.match(t.op, v)
	case subjEC2InstanceID:
		return in.EC2InstanceID != "" && t.match(t.op, in.EC2InstanceID)
	case subjTaskGroup:
		pos, negated := t.op.positive()
		found := false
		if pos == opExists {
			found = len(in.TaskGroups) > 0
		}
		for _, g := range in.TaskGroups {
			if pos != opExists && t.match(pos, g) {
				found = true
				break
			}
		}
		return found != negated
	case subjAgentVersion:
		c, ok := compareVersion(in.AgentVersion, t.version)
		return ok && t.op.holds(c)
	case subjRegisteredAt:
		return t.evalTime(in.RegisteredAt)
	case subjRunningTasksCount:
		n := int64(in.RunningTasksCount)
		c := 0
		if n < t.count {
			c = -1
		} else if n > t.count {
			c = 1
		}
		return t.op.holds(c)
	}
	return false
}

// match applies o to one value the instance has.
func (t *test) match(o op, v string) bool {
	switch o {
	case opEq:
		return v == t.args[0]
	case opNe:
		return v != t.args[0]
	case opIn:
		return t.inList(v)
	case opNotIn:
		return !t.inList(v)
	case opMatches:
		return t.matches(v)
	case opNotMatches:
		return !t.matches(v)
	case opGt, opGe, opLt, opLe:
		if t.numeric {
			f, ok := parseNumber(v)
			if !ok {
				return false
			}
			c := 0
			if f < t.num {
				c = -1
			} else if f > t.num {
				c = 1
			}
			return o.holds(c)
		}
		return o.holds(strings.Compare(v, t.args[0]))
	}
	return false
}

func (t *test) matches(v string) bool {
	if t.isPrefix {
		// . does not match a newline, so neither may the rest of v.
		return strings.HasPrefix(v, t.prefix) && strings.IndexByte(v[len(t.prefix):], '\n') < 0
	}
	return t.re.MatchString(v)
}

func (t *test) inList(v string) bool {
	if t.set != nil {
		_, ok := t.set[v]
		return ok
	}
	for _, a := range t.args {
		if v == a {
			return true
		}
	}
	return false
}

// evalTime compares a registration time with the span the argument names.
func (t *test) evalTime(at time.Time) bool {
	if at.IsZero() {
		return false
	}
	switch t.op {
	case opEq:
		return !at.Before(t.from) && at.Before(t.til)
	case opNe:
		return at.Before(t.from) || !at.Before(t.til)
	case opLt:
		return at.Before(t.from)
	case opLe:
		return at.Before(t.til)
	case opGt:
		return !at.Before(t.til)
	case opGe:
		return !at.Before(t.from)
	}
	return false
}

func (t *test) format(b *strings.Builder) {
	b.WriteString(subjects[t.subj].name)
	if t.subj == subjAttribute {
		b.WriteString(t.attr)
	}
	b.WriteByte(' ')
	b.WriteString(spellings[t.op].sym)
	switch t.op {
	case opExists, opNotExists:
	case opIn, opNotIn:
		b.WriteString(" [")
		for i, a := range t.args {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, a)
		}
		b.WriteByte(']')
	default:
		b.WriteByte(' ')
		writeValue(b, t.args[0])
	}
}

// writeValue writes v bare when the parser would read it back whole, and
// quoted otherwise. A parsed value never holds both kinds of quote: a bare
// word holds neither and a quoted string cannot hold its own.
func writeValue(b *strings.Builder, v string) {
	if v != "" && scanBare(v, 0) == len(v) {
		b.WriteString(v)
		return
	}
	q := byte('\'')
	if strings.IndexByte(v, '\'') >= 0 {
		q = '"'
	}
	b.WriteByte(q)
	b.WriteString(v)
	b.WriteByte(q)
}
