// Package cql is the ECS cluster query language: the expressions of memberOf
// placement constraints and of ListContainerInstances --filter. Parse compiles
// an expression once; Expr.Eval then tests container instances against it
// without I/O, clocks or (in the common path) allocation, because placement
// runs it for every instance of a cluster.
//
// # Syntax
//
// A condition is "subject operator [argument]". Conditions combine with
// and (&&), or (||) and not (!), and parentheses group them. not binds
// tightest, then and, then or, so "a or b and c" is "a or (b and c)"; the ECS
// guide's example "(expression1 or expression2) and expression3" needs its
// parentheses for the same reason. Operators have both spellings: == equals,
// != not_equals, > greater_than, >= greater_than_equal, < less_than,
// <= less_than_equal, exists, !exists not_exists, in, !in not_in, =~ matches,
// !~ not_matches. Word spellings (and, or, not, equals, ...) are accepted in
// any letter case; subjects and values are case-sensitive.
//
// An argument is a bare word or a quoted string. A bare word runs until white
// space, a parenthesis, a bracket, a comma, a quote, && or ||, so g2.*,
// service:production and 2018-06-18T22:28:28+00:00 need no quotes. A quoted
// string ('...' or "...") is taken literally, with no escapes: it is how to
// write a value with spaces, or a pattern with parentheses such as
// '^(t2|t3)\..*$' (the guide: a single condition can't contain parentheses).
// in and not_in take a list, [a, 'b', "c"], of at least one item.
// An expression is at most MaxLength characters.
//
// # Subjects and their operators
//
//	agentConnected     ==, !=, in, !in, =~, !~   against "true" or "false"
//	agentVersion       ==, !=, >, >=, <, <=      dotted versions, compared numerically
//	attribute:<name>   every operator
//	ec2InstanceId      ==, !=, in, !in, =~, !~
//	registeredAt       ==, !=, >, >=, <, <=      dates, below
//	runningTasksCount  ==, !=, >, >=, <, <=      whole numbers
//	task:group         ==, !=, in, !in, =~, !~, exists, !exists
//
// The first six lists are the guide's. The guide lists none for attributes or
// task:group; attributes take all of them (exists is what attributes without
// a value are for), and task:group takes what makes sense of a set of names.
// Attribute names are 1 to 128 letters, digits and - _ / \ . as ECS's
// Attribute shape allows.
//
// # Semantics where the ECS guide is silent
//
// A condition about something the instance does not have is false, whatever
// the operator: an attribute the instance lacks, an empty ec2InstanceId, an
// agentVersion that does not start with a number, a zero registeredAt. This
// follows the guide's own example, where "attribute:stack != prod" lists the
// instances that have the attribute stack, unless its value is prod. Use
// not(...) or not_exists to select instances that lack something.
//
// task:group tests the set of groups of the tasks on the instance: the
// instance "is in" group X when one of its tasks is. ==, in and =~ ask whether
// some task's group matches; !=, not_in and not_matches are exactly their
// negations, so "task:group != database" is the same as the guide's
// anti-affinity example "not(task:group == database)" and holds on an empty
// instance. exists holds when the instance runs any task.
//
// agentVersion compares dotted numbers component by component, a missing
// component counting as zero (1.14 == 1.14.0). An instance's version may carry
// a leading v and a suffix (1.14.5-rc1) that the comparison ignores.
//
// registeredAt takes 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z,
// 2018-06-18T22:28:28 (UTC) or 2018-06-18 (UTC). A value names a span, the
// whole second or the whole day, and the operators compare against the span:
// "registeredAt < 2018-02-13" is "registered before February 13" and
// "registeredAt == 2018-02-13" is "registered on February 13".
//
// runningTasksCount compares whole numbers. The caller decides which tasks
// count (ECS counts those the instance runs).
//
// Ordering operators on an attribute compare numerically when the argument is
// a decimal number (then an attribute value that is not a number fails the
// test) and byte-wise as strings otherwise.
//
// =~ and !~ match the whole value, as Java's String.matches does (ECS
// documents java.util.regex): "=~ t2.*" accepts t2.micro but not xt2.micro.
// Patterns are Go regular expressions (RE2), which lack Java's look-around,
// back-references, possessive quantifiers and class intersections ([a-z&&[^e]]).
// Parse rejects a pattern Go cannot compile; the few that compile in both
// but differ in meaning (class intersection, mostly) are not detected.
package cql
