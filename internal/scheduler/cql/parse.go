package cql

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLength is the longest expression ECS accepts, in characters.
const MaxLength = 2000

// ParseError says what is wrong with an expression and where.
type ParseError struct {
	Offset int    // byte offset into the expression where the problem is
	Column int    // the same place counted in characters from 1, as people count
	Msg    string // the whole message, naming the column
}

func (e *ParseError) Error() string { return e.Msg }

// Parse compiles an expression of the cluster query language. Its errors are
// *ParseError.
func Parse(expr string) (Expr, error) {
	if n := utf8.RuneCountInString(expr); n > MaxLength {
		off := 0
		for i := 0; i < MaxLength; i++ {
			_, size := utf8.DecodeRuneInString(expr[off:])
			off += size
		}
		return Expr{}, &ParseError{Offset: off, Column: MaxLength + 1,
			Msg: fmt.Sprintf("the expression is %d characters long; ECS allows at most %d", n, MaxLength)}
	}
	return parse(expr)
}

// parse is Parse without the length limit, which String's output may exceed.
func parse(expr string) (Expr, error) {
	p := &parser{src: expr}
	for i, r := range expr {
		if r == utf8.RuneError && !strings.HasPrefix(expr[i:], "\uFFFD") {
			return Expr{}, p.errorf(i, "the expression is not valid UTF-8 at column %d", p.col(i))
		}
		if unicode.IsControl(r) && !isSpace(byte(r)) {
			return Expr{}, p.errorf(i, "the expression has a control character (%U) at column %d", r, p.col(i))
		}
	}
	p.skipSpace()
	if p.pos == len(expr) {
		return Expr{}, p.errorf(0, "the expression is empty; write a condition such as attribute:ecs.instance-type == t2.small")
	}
	root, err := p.or()
	if err != nil {
		return Expr{}, err
	}
	p.skipSpace()
	if p.pos < len(expr) {
		return Expr{}, p.trailing("the end of the expression", "")
	}
	return Expr{root: root}, nil
}

// parser is a recursive-descent parser that scans as it goes rather than
// tokenizing first, because a character's meaning depends on where it stands:
// ! negates a condition but begins != after a subject, and a bare value such
// as g2.* or service:production holds characters that are operators elsewhere.
type parser struct {
	src       string
	pos       int
	afterBare bool // the last thing read was a bare value, for a hint about spaces
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isWordByte reports whether c may be part of a subject or a word operator.
func isWordByte(c byte) bool { return isAttrNameByte(c) || c == ':' }

// scanBare returns where the bare value starting at s[i] ends.
func scanBare(s string, i int) int {
	for ; i < len(s); i++ {
		c := s[i]
		if isSpace(c) || strings.IndexByte("()[],'\"", c) >= 0 ||
			(c == '&' || c == '|') && i+1 < len(s) && s[i+1] == c {
			break
		}
	}
	return i
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func (p *parser) scanWord(i int) int {
	for i < len(p.src) && isWordByte(p.src[i]) {
		i++
	}
	return i
}

// col turns a byte offset into a 1-based character column.
func (p *parser) col(off int) int { return utf8.RuneCountInString(p.src[:off]) + 1 }

func (p *parser) errorf(off int, format string, args ...any) error {
	return &ParseError{Offset: off, Column: p.col(off), Msg: fmt.Sprintf(format, args...)}
}

// expected reports that what was wanted at off and says what is there.
func (p *parser) expected(off int, what string) error {
	return p.errorf(off, "expected %s at column %d, got %s", what, p.col(off), p.got(off))
}

// got describes the text at off for an error message: one punctuation
// character, a short quoted string as written, or the run up to the next
// space, shortened if long.
func (p *parser) got(off int) string {
	for off < len(p.src) && isSpace(p.src[off]) {
		off++
	}
	if off >= len(p.src) {
		return "the end of the expression"
	}
	switch c := p.src[off]; c {
	case '(', ')', '[', ']', ',':
		return "'" + string(c) + "'"
	case '\'', '"':
		if n := strings.IndexByte(p.src[off+1:], c); n >= 0 && n <= 30 {
			return p.src[off : off+1+n+1]
		}
	}
	end, n := off, 0
	for end < len(p.src) && !isSpace(p.src[end]) && strings.IndexByte("()[],", p.src[end]) < 0 {
		if n == 30 {
			return "'" + p.src[off:end] + "...'"
		}
		_, size := utf8.DecodeRuneInString(p.src[end:])
		end += size
		n++
	}
	return "'" + p.src[off:end] + "'"
}

// trailing reports text where a connective or closer was due.
func (p *parser) trailing(closer, note string) error {
	err := p.expected(p.pos, "'and', 'or' or "+closer).(*ParseError)
	switch {
	case note != "":
		err.Msg += note
	case p.pos == len(p.src):
	case p.src[p.pos] == ')':
		err.Msg += "; there is no '(' for it to close"
	case p.afterBare && isWordByte(p.src[p.pos]):
		err.Msg += " (a value with spaces must be quoted)"
	}
	return err
}

// connective consumes sym or word (in any case, as a whole word) if next.
func (p *parser) connective(sym, word string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.src[p.pos:], sym) {
		p.pos += len(sym)
		return true
	}
	if end := p.scanWord(p.pos); strings.EqualFold(p.src[p.pos:end], word) {
		p.pos = end
		return true
	}
	return false
}

// or parses conditions joined by or, which binds loosest.
func (p *parser) or() (*node, error) {
	return p.chain(kindOr, "||", "or", (*parser).and)
}

func (p *parser) and() (*node, error) {
	return p.chain(kindAnd, "&&", "and", (*parser).unary)
}

// chain parses operands joined by one connective into a single node,
// flattening a parenthesized operand of the same kind into it: (a or b) or c
// means a or b or c, and String prints it so.
func (p *parser) chain(kind nodeKind, sym, word string, operand func(*parser) (*node, error)) (*node, error) {
	x, err := operand(p)
	if err != nil {
		return nil, err
	}
	var n *node
	for p.connective(sym, word) {
		if n == nil {
			n = &node{kind: kind}
			n.add(x)
		}
		y, err := operand(p)
		if err != nil {
			return nil, err
		}
		n.add(y)
	}
	if n == nil {
		return x, nil
	}
	return n, nil
}

func (n *node) add(x *node) {
	if x.kind == n.kind {
		n.kids = append(n.kids, x.kids...)
	} else {
		n.kids = append(n.kids, x)
	}
}

// unary parses not, a parenthesized expression, or a condition.
func (p *parser) unary() (*node, error) {
	p.skipSpace()
	start := p.pos
	if start < len(p.src) && p.src[start] == '!' &&
		!(start+1 < len(p.src) && (p.src[start+1] == '=' || p.src[start+1] == '~')) {
		p.pos++
		return p.not()
	}
	if end := p.scanWord(start); strings.EqualFold(p.src[start:end], "not") {
		p.pos = end
		return p.not()
	}
	if start < len(p.src) && p.src[start] == '(' {
		p.pos++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos == len(p.src) || p.src[p.pos] != ')' {
			return nil, p.trailing("')'", fmt.Sprintf("; the '(' at column %d is not closed", p.col(start)))
		}
		p.pos++
		p.afterBare = false
		return x, nil
	}
	return p.condition()
}

func (p *parser) not() (*node, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	return &node{kind: kindNot, kids: []*node{x}}, nil
}

// condition parses subject operator [argument].
func (p *parser) condition() (*node, error) {
	start := p.pos
	end := p.scanWord(start)
	if end == start {
		return nil, p.expected(start, "a condition such as attribute:stack == prod, 'not' or '('")
	}
	word := p.src[start:end]
	t := &test{}
	if err := p.subject(t, word, start); err != nil {
		return nil, err
	}
	p.pos = end
	p.skipSpace()
	opStart := p.pos
	o, ok := p.operator()
	if !ok {
		err := p.expected(opStart, "an operator after "+word).(*ParseError)
		if strings.HasPrefix(p.src[opStart:], "=") {
			err.Msg += "; did you mean '=='?"
		}
		return nil, err
	}
	opText := p.src[opStart:p.pos]
	if !subjects[t.subj].ops.has(o) {
		return nil, p.errorf(opStart, "the operator %s at column %d does not apply to %s, which takes %s",
			opText, p.col(opStart), subjects[t.subj].name, subjects[t.subj].ops)
	}
	t.op = o
	p.afterBare = false
	var offs []int
	switch o {
	case opExists, opNotExists:
	case opIn, opNotIn:
		var err error
		if t.args, offs, err = p.list(opText); err != nil {
			return nil, err
		}
	default:
		v, off, err := p.value("a value after " + opText)
		if err != nil {
			return nil, err
		}
		t.args, offs = []string{v}, []int{off}
	}
	if err := p.compile(t, offs); err != nil {
		return nil, err
	}
	return &node{kind: kindTest, test: t}, nil
}

// subject fills in t's subject from word, which starts at off.
func (p *parser) subject(t *test, word string, off int) error {
	if name, ok := strings.CutPrefix(word, "attribute:"); ok {
		t.subj, t.attr = subjAttribute, name
		nameOff := off + len("attribute:")
		if name == "" {
			return p.expected(nameOff, "an attribute name after attribute:")
		}
		if len(name) > maxAttrName {
			return p.errorf(nameOff, "the attribute name at column %d is %d characters long; ECS allows at most %d",
				p.col(nameOff), len(name), maxAttrName)
		}
		for i := 0; i < len(name); i++ {
			if !isAttrNameByte(name[i]) {
				return p.errorf(nameOff+i, "the attribute name %s has %q at column %d; names hold only letters, digits and - _ / \\ .",
					name, name[i], p.col(nameOff+i))
			}
		}
		return nil
	}
	for s, d := range subjects {
		if s != int(subjAttribute) && d.name == word {
			t.subj = subject(s)
			return nil
		}
	}
	msg := fmt.Sprintf("unknown subject '%s' at column %d", word, p.col(off))
	for _, d := range subjects {
		if strings.EqualFold(d.name, word) {
			return p.errorf(off, "%s; did you mean %s?", msg, d.name)
		}
	}
	if lower := strings.ToLower(word); strings.HasPrefix(lower, "attribute:") {
		return p.errorf(off, "%s; did you mean attribute:%s?", msg, word[len("attribute:"):])
	}
	if strings.Contains(word, ".") && !strings.Contains(word, ":") {
		return p.errorf(off, "%s; to test an attribute write attribute:%s", msg, word)
	}
	return p.errorf(off, "%s; the subjects are %s", msg, subjectList)
}

// operator consumes an operator in either spelling.
func (p *parser) operator() (op, bool) {
	rest := p.src[p.pos:]
	wordStart := p.pos
	if strings.HasPrefix(rest, "!") {
		wordStart++
	}
	if end := p.scanWord(wordStart); end > wordStart {
		w := strings.ToLower(p.src[p.pos:end])
		for o, s := range spellings {
			if w == s.word || w == s.sym {
				p.pos = end
				return op(o), true
			}
		}
		return 0, false
	}
	// Two-character symbols first, so >= is not read as > followed by =.
	for _, o := range [...]op{opEq, opNe, opGe, opLe, opMatches, opNotMatches, opGt, opLt} {
		if strings.HasPrefix(rest, spellings[o].sym) {
			p.pos += len(spellings[o].sym)
			return o, true
		}
	}
	return 0, false
}

// value reads one argument, quoted or bare, and where it starts.
func (p *parser) value(what string) (string, int, error) {
	p.skipSpace()
	off := p.pos
	if off == len(p.src) {
		return "", off, p.expected(off, what)
	}
	if q := p.src[off]; q == '\'' || q == '"' {
		n := strings.IndexByte(p.src[off+1:], q)
		if n < 0 {
			return "", off, p.errorf(off, "the quote at column %d is never closed", p.col(off))
		}
		p.pos = off + 1 + n + 1
		p.afterBare = false
		return p.src[off+1 : off+1+n], off, nil
	}
	end := scanBare(p.src, off)
	if end == off {
		err := p.expected(off, what).(*ParseError)
		if p.src[off] == '(' {
			err.Msg += "; a value with parentheses must be quoted"
		}
		return "", off, err
	}
	p.pos = end
	p.afterBare = true
	return p.src[off:end], off, nil
}

// list reads [a, b, ...] for in and not_in.
func (p *parser) list(opText string) ([]string, []int, error) {
	p.skipSpace()
	if p.pos == len(p.src) || p.src[p.pos] != '[' {
		return nil, nil, p.expected(p.pos, "a list such as [a, b] after "+opText)
	}
	p.pos++
	var items []string
	var offs []int
	for {
		v, off, err := p.value("a value in the list")
		if err != nil {
			return nil, nil, err
		}
		items, offs = append(items, v), append(offs, off)
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.src) && p.src[p.pos] == ']' {
			p.pos++
			p.afterBare = false
			return items, offs, nil
		}
		return nil, nil, p.expected(p.pos, "',' or ']' in the list")
	}
}

// compile checks t's arguments against its subject and prepares what Eval
// needs, so that Eval neither parses nor compiles. offs locates the arguments.
func (p *parser) compile(t *test, offs []int) error {
	name := subjects[t.subj].name
	for i, a := range t.args {
		bad := func(want string) error {
			return p.errorf(offs[i], "%s takes %s; got '%s' at column %d", name, want, a, p.col(offs[i]))
		}
		switch t.subj {
		case subjAgentConnected:
			if t.op == opMatches || t.op == opNotMatches {
				break
			}
			// Canonical lower case, so that String and Eval agree on TRUE.
			switch l := strings.ToLower(a); l {
			case "true", "false":
				t.args[i] = l
			default:
				return bad("true or false")
			}
		case subjAgentVersion:
			v, ok := parseVersion(a)
			if !ok {
				return bad("a dotted version such as 1.14.5")
			}
			t.version = v
		case subjRegisteredAt:
			from, til, ok := parseDate(a)
			if !ok {
				return bad("a date such as 2018-02-13, 2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00")
			}
			t.from, t.til = from, til
		case subjRunningTasksCount:
			n, ok := parseUint(a)
			if !ok {
				return bad("a whole number such as 0 or 3")
			}
			t.count = int64(n)
		case subjAttribute:
			if t.op.ordering() {
				t.num, t.numeric = parseNumber(a)
			}
		}
		if t.op == opMatches || t.op == opNotMatches {
			re, err := compilePattern(a)
			if err != nil {
				return p.errorf(offs[i], "the pattern '%s' at column %d is not a regular expression Wharf can use: %v "+
					"(patterns are Go's RE2 syntax, which has no look-around or back-references)", a, p.col(offs[i]), err)
			}
			t.re = re
			t.prefix, t.isPrefix = literalPrefix(a)
		}
	}
	if len(t.args) >= setThreshold {
		t.set = make(map[string]struct{}, len(t.args))
		for _, a := range t.args {
			t.set[a] = struct{}{}
		}
	}
	return nil
}

// compilePattern compiles pat to match whole values. It checks pat alone
// first: wrapping a)|(b in ^(?:...)$ would compile, and mean something else.
func compilePattern(pat string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pat); err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: `%s`", se.Code, se.Expr)
		}
		return nil, err
	}
	return regexp.Compile(`^(?:` + pat + `)$`)
}

// literalPrefix recognises the pattern most constraints use, a literal
// followed by .* (t2.*), so that Eval can test it with strings.HasPrefix
// rather than run the regexp, which otherwise takes half an evaluation.
func literalPrefix(pat string) (string, bool) {
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) != 2 {
		return "", false
	}
	lit, star := re.Sub[0], re.Sub[1]
	if lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 ||
		star.Op != syntax.OpStar || star.Sub[0].Op != syntax.OpAnyCharNotNL {
		return "", false
	}
	// The regexp reads invalid UTF-8 as U+FFFD; HasPrefix would not.
	if slices.Contains(lit.Rune, utf8.RuneError) {
		return "", false
	}
	return string(lit.Rune), true
}
