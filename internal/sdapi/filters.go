package sdapi

import (
	"slices"
	"strconv"
	"strings"
)

// Filter conditions of the List operations.
const (
	condEQ         = "EQ"
	condIN         = "IN"
	condBeginsWith = "BEGINS_WITH"
	condBetween    = "BETWEEN"
)

// filterField says which conditions a filter name takes (the first is the
// default) and what of a resource it compares.
type filterField[T any] struct {
	conds []string
	get   func(*T) string
	// number compares as numbers (BETWEEN on dates in epoch seconds).
	number func(*T) float64
}

// compileFilters validates filters and returns a predicate that holds when
// every filter matches.
func compileFilters[T any](filters []filter, fields map[string]filterField[T]) (func(*T) bool, error) {
	var preds []func(*T) bool
	for _, f := range filters {
		ff, ok := fields[f.Name]
		if !ok {
			names := make([]string, 0, len(fields))
			for n := range fields {
				names = append(names, n)
			}
			slices.Sort(names)
			return nil, invalid("Filter Name %q is not supported here; use %s.", f.Name, strings.Join(names, ", "))
		}
		cond := f.Condition
		if cond == "" {
			cond = ff.conds[0]
		}
		if !slices.Contains(ff.conds, cond) {
			return nil, invalid("Filter %s does not take Condition %q; it takes %s.", f.Name, cond, strings.Join(ff.conds, " or "))
		}
		pred, err := filterPred(f, cond, ff)
		if err != nil {
			return nil, err
		}
		preds = append(preds, pred)
	}
	return func(v *T) bool {
		for _, p := range preds {
			if !p(v) {
				return false
			}
		}
		return true
	}, nil
}

func filterPred[T any](f filter, cond string, ff filterField[T]) (func(*T) bool, error) {
	for _, v := range f.Values {
		if v == "" || len(v) > 255 {
			return nil, invalid("Filter %s values must be 1 to 255 characters long.", f.Name)
		}
	}
	values := f.Values
	switch cond {
	case condEQ, condBeginsWith:
		if len(values) != 1 {
			return nil, invalid("Filter %s with Condition %s takes exactly one value; got %d.", f.Name, cond, len(values))
		}
		if cond == condEQ {
			return func(x *T) bool { return ff.get(x) == values[0] }, nil
		}
		return func(x *T) bool { return strings.HasPrefix(ff.get(x), values[0]) }, nil
	case condIN:
		if len(values) == 0 {
			return nil, invalid("Filter %s with Condition IN takes one or more values.", f.Name)
		}
		return func(x *T) bool { return slices.Contains(values, ff.get(x)) }, nil
	}
	// BETWEEN: two numbers, inclusive.
	if len(values) != 2 {
		return nil, invalid("Filter %s with Condition BETWEEN takes exactly two values (from and to); got %d.", f.Name, len(values))
	}
	lo, err1 := strconv.ParseFloat(values[0], 64)
	hi, err2 := strconv.ParseFloat(values[1], 64)
	if err1 != nil || err2 != nil {
		return nil, invalid("Filter %s values must be timestamps in epoch seconds, such as 1700000000.", f.Name)
	}
	return func(x *T) bool { n := ff.number(x); return n >= lo && n <= hi }, nil
}
