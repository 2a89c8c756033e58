package cql

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct{ in, want string }{
		// The ECS guide's examples, which are already canonical but one.
		{"attribute:ecs.instance-type == t2.small", "attribute:ecs.instance-type == t2.small"},
		{"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"},
		{"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
			"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d"},
		{"task:group == service:production", "task:group == service:production"},
		{"not(task:group == database)", "not(task:group == database)"},
		{"runningTasksCount == 1", "runningTasksCount == 1"},
		{"agentVersion < 1.14.5", "agentVersion < 1.14.5"},
		{"registeredAt < 2018-02-13", "registeredAt < 2018-02-13"},
		{"ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", "ec2InstanceId in [i-abcd1234, i-wxyx7890]"},
		// The guide's ListContainerInstances filters and constraint examples.
		{"attribute:stack == prod", "attribute:stack == prod"},
		{"attribute:stack != prod", "attribute:stack != prod"},
		{"attribute:ecs.instance-type in [t2.small, t2.medium]", "attribute:ecs.instance-type in [t2.small, t2.medium]"},
		{"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a",
			"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a"},
		{"task:group == databases", "task:group == databases"},
		{"attribute:ecs.os-type == linux", "attribute:ecs.os-type == linux"},

		// Every operator in its word spelling, printed as the symbol.
		{"attribute:a equals x", "attribute:a == x"},
		{"attribute:a not_equals x", "attribute:a != x"},
		{"attribute:a greater_than 1", "attribute:a > 1"},
		{"attribute:a greater_than_equal 1", "attribute:a >= 1"},
		{"attribute:a less_than 1", "attribute:a < 1"},
		{"attribute:a less_than_equal 1", "attribute:a <= 1"},
		{"attribute:a exists", "attribute:a exists"},
		{"attribute:a not_exists", "attribute:a !exists"},
		{"attribute:a !exists", "attribute:a !exists"},
		{"attribute:a in [x]", "attribute:a in [x]"},
		{"attribute:a not_in [x, y]", "attribute:a !in [x, y]"},
		{"attribute:a !in [x,y]", "attribute:a !in [x, y]"},
		{"attribute:a matches x.*", "attribute:a =~ x.*"},
		{"attribute:a not_matches x.*", "attribute:a !~ x.*"},
		{"attribute:a EQUALS x AND attribute:b Not_In [y] OR NOT attribute:c exists",
			"attribute:a == x and attribute:b !in [y] or not(attribute:c exists)"},

		// Spacing is free where it can be; symbols need none.
		{"attribute:a==x&&attribute:b!=y||!attribute:c exists", "attribute:a == x and attribute:b != y or not(attribute:c exists)"},
		{"  runningTasksCount>=2\t&&\nrunningTasksCount<=5  ", "runningTasksCount >= 2 and runningTasksCount <= 5"},
		{"attribute:a in[x]", "attribute:a in [x]"},
		{"attribute:a in [ x , 'y' , \"z\" ]", "attribute:a in [x, y, z]"},

		// Precedence: not, then and, then or; parentheses override, and
		// String keeps only the ones that matter.
		{"attribute:a exists or attribute:b exists and attribute:c exists",
			"attribute:a exists or attribute:b exists and attribute:c exists"},
		{"(attribute:a exists or attribute:b exists) and attribute:c exists",
			"(attribute:a exists or attribute:b exists) and attribute:c exists"},
		{"((attribute:a exists)) and ((attribute:b exists and attribute:c exists))",
			"attribute:a exists and attribute:b exists and attribute:c exists"},
		{"attribute:a exists or (attribute:b exists or attribute:c exists)",
			"attribute:a exists or attribute:b exists or attribute:c exists"},
		{"not attribute:a exists and attribute:b exists", "not(attribute:a exists) and attribute:b exists"},
		{"not (attribute:a exists and attribute:b exists)", "not(attribute:a exists and attribute:b exists)"},
		{"!!attribute:a exists", "not(not(attribute:a exists))"},
		{"not(not(attribute:a exists))", "not(not(attribute:a exists))"},

		// Values: bare words may hold : * + . / and more; quotes hold the rest.
		{"attribute:a == 'two words'", "attribute:a == 'two words'"},
		{`attribute:a == "it's"`, `attribute:a == "it's"`},
		{`attribute:a == 'say "hi"'`, `attribute:a == 'say "hi"'`},
		{"attribute:a == ''", "attribute:a == ''"},
		{"attribute:a == 'and'", "attribute:a == and"},
		{"attribute:a == 'x&&y'", "attribute:a == 'x&&y'"},
		{"attribute:a == x&y", "attribute:a == x&y"},
		{"attribute:a =~ t2|t3", "attribute:a =~ t2|t3"},
		{"attribute:a =~ '^(t2|t3)\\..*$'", "attribute:a =~ '^(t2|t3)\\..*$'"},
		{"attribute:a == a,b", ""}, // see the invalid table: a comma ends a bare value
		{"attribute:a == ünïcode", "attribute:a == ünïcode"},
		{`attribute:my/custom\attr_1 exists`, `attribute:my/custom\attr_1 exists`},
		{"attribute:" + strings.Repeat("n", 128) + " exists", "attribute:" + strings.Repeat("n", 128) + " exists"},

		// Subject-specific values, checked at Parse.
		{"agentConnected == TRUE", "agentConnected == true"},
		{"agentConnected in [true, False]", "agentConnected in [true, false]"},
		{"agentConnected =~ 'tr.*'", "agentConnected =~ tr.*"},
		{"agentVersion >= 1", "agentVersion >= 1"},
		{"agentVersion != 1.14.5.7", "agentVersion != 1.14.5.7"},
		{"registeredAt >= 2018-06-18T22:28:28+00:00", "registeredAt >= 2018-06-18T22:28:28+00:00"},
		{"registeredAt > 2018-06-18T22:28:28Z", "registeredAt > 2018-06-18T22:28:28Z"},
		{"registeredAt <= '2018-06-18T22:28:28'", "registeredAt <= 2018-06-18T22:28:28"},
		{"registeredAt == 2018-06-18T22:28:28-07:00", "registeredAt == 2018-06-18T22:28:28-07:00"},
		{"runningTasksCount != 007", "runningTasksCount != 007"},
		{"task:group exists", "task:group exists"},
		{"task:group not_exists", "task:group !exists"},
		{"task:group !in [service:a, family:b]", "task:group !in [service:a, family:b]"},
		{"task:group =~ 'service:.*'", "task:group =~ service:.*"},
		{"ec2InstanceId !~ i-0.*", "ec2InstanceId !~ i-0.*"},
	}
	for _, tt := range tests {
		if tt.want == "" {
			continue
		}
		e, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in   string
		col  int
		want string
	}{
		{"", 1, "the expression is empty; write a condition such as attribute:ecs.instance-type == t2.small"},
		{"   ", 1, "the expression is empty; write a condition such as attribute:ecs.instance-type == t2.small"},
		{"attribute:ecs.instance-type t2.small", 29,
			"expected an operator after attribute:ecs.instance-type at column 29, got 't2.small'"},
		{"attribute:ecs.instance-type", 28,
			"expected an operator after attribute:ecs.instance-type at column 28, got the end of the expression"},
		{"attribute:x = y", 13, "expected an operator after attribute:x at column 13, got '='; did you mean '=='?"},
		{"attribute:x is y", 13, "expected an operator after attribute:x at column 13, got 'is'"},
		{"attribute:x !equals y", 13, "expected an operator after attribute:x at column 13, got '!equals'"},
		{"attribute:x ==", 15, "expected a value after == at column 15, got the end of the expression"},
		{"attribute:x equals", 19, "expected a value after equals at column 19, got the end of the expression"},
		{"attribute:x == (y)", 16,
			"expected a value after == at column 16, got '('; a value with parentheses must be quoted"},
		{"attribute:x == 'y", 16, "the quote at column 16 is never closed"},
		{"attribute:x in y", 16, "expected a list such as [a, b] after in at column 16, got 'y'"},
		{"attribute:x not_in", 19, "expected a list such as [a, b] after not_in at column 19, got the end of the expression"},
		{"attribute:x in []", 17, "expected a value in the list at column 17, got ']'"},
		{"attribute:x in [a,]", 19, "expected a value in the list at column 19, got ']'"},
		{"attribute:x in [a b]", 19, "expected ',' or ']' in the list at column 19, got 'b'"},
		{"attribute:x in [a", 18, "expected ',' or ']' in the list at column 18, got the end of the expression"},
		{"attribute:a == a,b", 17, "expected 'and', 'or' or the end of the expression at column 17, got ','"},
		{"attribute:x == a b", 18,
			"expected 'and', 'or' or the end of the expression at column 18, got 'b' (a value with spaces must be quoted)"},
		{"attribute:x exists attribute:y exists", 20,
			"expected 'and', 'or' or the end of the expression at column 20, got 'attribute:y'"},
		{"attribute:x exists 'a b'", 20,
			"expected 'and', 'or' or the end of the expression at column 20, got 'a b'"},
		{"attribute:x == y)", 17,
			"expected 'and', 'or' or the end of the expression at column 17, got ')'; there is no '(' for it to close"},
		{"not (attribute:x == y", 22,
			"expected 'and', 'or' or ')' at column 22, got the end of the expression; the '(' at column 5 is not closed"},
		{"attribute:x exists and", 23,
			"expected a condition such as attribute:stack == prod, 'not' or '(' at column 23, got the end of the expression"},
		{"attribute:x exists & attribute:y exists", 20,
			"expected 'and', 'or' or the end of the expression at column 20, got '&'"},
		{"not", 4, "expected a condition such as attribute:stack == prod, 'not' or '(' at column 4, got the end of the expression"},
		{"()", 2, "expected a condition such as attribute:stack == prod, 'not' or '(' at column 2, got ')'"},
		{"== x", 1, "expected a condition such as attribute:stack == prod, 'not' or '(' at column 1, got '=='"},
		{"!= x", 1, "expected a condition such as attribute:stack == prod, 'not' or '(' at column 1, got '!='"},

		// Subjects.
		{"instanceId == x", 1, "unknown subject 'instanceId' at column 1; the subjects are " + subjectList},
		{"agentconnected == true", 1, "unknown subject 'agentconnected' at column 1; did you mean agentConnected?"},
		{"task:Group == x", 1, "unknown subject 'task:Group' at column 1; did you mean task:group?"},
		{"Attribute:stack == x", 1, "unknown subject 'Attribute:stack' at column 1; did you mean attribute:stack?"},
		{"ecs.instance-type == t2.small", 1,
			"unknown subject 'ecs.instance-type' at column 1; to test an attribute write attribute:ecs.instance-type"},
		{"attribute: == x", 11, "expected an attribute name after attribute: at column 11, got '=='"},
		{"attribute:a:b == c", 12, `the attribute name a:b has ':' at column 12; names hold only letters, digits and - _ / \ .`},
		{"attribute:" + strings.Repeat("n", 129) + " exists", 11,
			"the attribute name at column 11 is 129 characters long; ECS allows at most 128"},

		// Operators a subject does not take.
		{"agentVersion =~ 1.*", 14,
			"the operator =~ at column 14 does not apply to agentVersion, which takes ==, !=, >, >=, <, <="},
		{"runningTasksCount exists", 19,
			"the operator exists at column 19 does not apply to runningTasksCount, which takes ==, !=, >, >=, <, <="},
		{"registeredAt in [2018-02-13]", 14,
			"the operator in at column 14 does not apply to registeredAt, which takes ==, !=, >, >=, <, <="},
		{"agentConnected > false", 16,
			"the operator > at column 16 does not apply to agentConnected, which takes ==, !=, in, !in, =~, !~"},
		{"ec2InstanceId not_exists", 15,
			"the operator not_exists at column 15 does not apply to ec2InstanceId, which takes ==, !=, in, !in, =~, !~"},
		{"task:group < x", 12,
			"the operator < at column 12 does not apply to task:group, which takes ==, !=, exists, !exists, in, !in, =~, !~"},

		// Values a subject cannot take.
		{"agentConnected == yes", 19, "agentConnected takes true or false; got 'yes' at column 19"},
		{"agentConnected in [true, 1]", 26, "agentConnected takes true or false; got '1' at column 26"},
		{"agentVersion < latest", 16, "agentVersion takes a dotted version such as 1.14.5; got 'latest' at column 16"},
		{"agentVersion < 1..2", 16, "agentVersion takes a dotted version such as 1.14.5; got '1..2' at column 16"},
		{"agentVersion < v1.2", 16, "agentVersion takes a dotted version such as 1.14.5; got 'v1.2' at column 16"},
		{"runningTasksCount > -1", 21, "runningTasksCount takes a whole number such as 0 or 3; got '-1' at column 21"},
		{"runningTasksCount > 1.5", 21, "runningTasksCount takes a whole number such as 0 or 3; got '1.5' at column 21"},
		{"runningTasksCount > 1234567890123456789", 21,
			"runningTasksCount takes a whole number such as 0 or 3; got '1234567890123456789' at column 21"},
		{"registeredAt < yesterday", 16,
			"registeredAt takes a date such as 2018-02-13, 2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00; got 'yesterday' at column 16"},
		{"registeredAt < 2018-02-30", 16,
			"registeredAt takes a date such as 2018-02-13, 2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00; got '2018-02-30' at column 16"},
		{"registeredAt < 2018-06-18T22:28:28.5Z", 16,
			"registeredAt takes a date such as 2018-02-13, 2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00; got '2018-06-18T22:28:28.5Z' at column 16"},
		{"registeredAt < 2018-06-18 22:28:28", 27,
			"expected 'and', 'or' or the end of the expression at column 27, got '22:28:28' (a value with spaces must be quoted)"},

		// Patterns Go cannot run.
		{"attribute:x =~ '(?=a)'", 16,
			"the pattern '(?=a)' at column 16 is not a regular expression Wharf can use: invalid or unsupported Perl syntax: `(?=` " +
				"(patterns are Go's RE2 syntax, which has no look-around or back-references)"},
		{`task:group =~ '(a)\1'`, 15,
			"the pattern '(a)\\1' at column 15 is not a regular expression Wharf can use: invalid escape sequence: `\\1` " +
				"(patterns are Go's RE2 syntax, which has no look-around or back-references)"},
		{"attribute:x !~ 'a)|(b'", 16,
			"the pattern 'a)|(b' at column 16 is not a regular expression Wharf can use: unexpected ): `a)|(b` " +
				"(patterns are Go's RE2 syntax, which has no look-around or back-references)"},

		// Text that is not text.
		{"attribute:x == \x01", 16, "the expression has a control character (U+0001) at column 16"},
		{"attribute:é == \xff", 16, "the expression is not valid UTF-8 at column 16"},
		{strings.Repeat("x", 2001), 2001, "the expression is 2001 characters long; ECS allows at most 2000"},
		{strings.Repeat("é", 2001), 2001, "the expression is 2001 characters long; ECS allows at most 2000"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v; want a *ParseError", tt.in, err)
			continue
		}
		if pe.Msg != tt.want || pe.Error() != tt.want {
			t.Errorf("Parse(%q) error =\n\t%s\nwant\n\t%s", tt.in, pe.Msg, tt.want)
		}
		if pe.Column != tt.col {
			t.Errorf("Parse(%q) error column = %d; want %d", tt.in, pe.Column, tt.col)
		}
		if pe.Offset < 0 || pe.Offset > len(tt.in) {
			t.Errorf("Parse(%q) error offset = %d; outside the expression", tt.in, pe.Offset)
		}
	}
}

func TestParseLengthLimit(t *testing.T) {
	// Exactly MaxLength characters parses; the limit counts characters, not bytes.
	long := "attribute:a == '" + strings.Repeat("é", MaxLength-len("attribute:a == ''")) + "'"
	if _, err := Parse(long); err != nil {
		t.Errorf("Parse of a %d-character expression: %v", MaxLength, err)
	}
}
