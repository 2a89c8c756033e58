package iam

import (
	"strings"
	"unicode/utf8"
)

// glob reports whether s matches the pattern p, in which '*' stands for any
// run of characters (none included) and '?' for exactly one character. With
// fold, ASCII letters compare case-insensitively (action names); without it
// every byte compares exactly (ARNs).
//
// It runs in O(len(p)·len(s)) at worst and allocates nothing: on a mismatch
// only the most recent '*' is retried with one more character, because any
// way an earlier '*' could have matched is also available to the later one.
// A policy's patterns and a request's names are short, so this is cheaper
// than compiling a regular expression per pattern, and no input can make it
// backtrack exponentially.
//
// Both strings are expected to be valid UTF-8, as everything decoded from
// JSON is; '?' then consumes one whole character.
func glob(p, s string, fold bool) bool {
	pi, si := 0, 0
	star, mark := -1, 0 // the last '*' seen, and where in s its match ends
	for si < len(s) {
		if pi < len(p) {
			switch c := p[pi]; {
			case c == '*':
				star, mark = pi, si
				pi++
				continue
			case c == '?':
				_, n := utf8.DecodeRuneInString(s[si:])
				pi++
				si += n
				continue
			case c == s[si] || fold && lower(c) == lower(s[si]):
				pi++
				si++
				continue
			}
		}
		if star < 0 {
			return false
		}
		// The last '*' takes one more character and matching resumes after it.
		_, n := utf8.DecodeRuneInString(s[mark:])
		mark += n
		pi, si = star+1, mark
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// arnFields is the number of colon-separated fields of an ARN:
// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE.
const arnFields = 6

// matchResource reports whether the resource s matches the policy's resource
// pattern p. The pattern "*" (no colon) matches every resource, including
// the "*" that stands for operations without one. Otherwise both are ARNs
// matched field by field, as IAM does: a wildcard in the partition, service,
// region or account field stays within that field, while one in the
// resource field (the sixth, which may itself hold ':' and '/') matches
// across ':' and '/'. A resource that is not an ARN matches only "*".
// Comparison is case-sensitive.
func matchResource(p, s string) bool {
	for k := 1; k < arnFields; k++ {
		pc, sc := strings.IndexByte(p, ':'), strings.IndexByte(s, ':')
		if pc < 0 {
			// Parse admits only "*" and full ARNs, so a pattern without
			// (enough) colons is all wildcard here.
			return k == 1 && glob(p, s, false)
		}
		if sc < 0 || !glob(p[:pc], s[:sc], false) {
			return false
		}
		p, s = p[pc+1:], s[sc+1:]
	}
	return glob(p, s, false)
}
