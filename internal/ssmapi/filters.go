package ssmapi

import (
	"slices"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/state"
)

// Filter options of ParameterStringFilter.
const (
	optEquals     = "Equals"
	optBeginsWith = "BeginsWith"
	optContains   = "Contains"
	optRecursive  = "Recursive"
	optOneLevel   = "OneLevel"
)

// filterKey says what a filter key accepts and what of a parameter it
// compares: a field, the path (Path), or a tag ("tag:KEY").
type filterKey struct {
	options []string // the first is the default
	field   func(p *state.Parameter) string
	check   func(v string) error // validates each value; nil accepts any
	path    bool
	tag     bool
}

var (
	eqBegins = []string{optEquals, optBeginsWith}

	keyType  = filterKey{options: eqBegins, field: func(p *state.Parameter) string { return p.Type }, check: checkTypeValue}
	keyKeyID = filterKey{options: eqBegins, field: func(p *state.Parameter) string { return p.KeyID }}

	// byPathFilters are GetParametersByPath's keys. Wharf keeps no labels:
	// every version's label is "", which no filter value (never empty) equals.
	byPathFilters = map[string]filterKey{
		"Type":  keyType,
		"KeyId": keyKeyID,
		"Label": {options: []string{optEquals}, field: func(*state.Parameter) string { return "" }},
	}
	// describeFilters are DescribeParameters' keys; "tag:" stands for every
	// "tag:KEY".
	describeFilters = map[string]filterKey{
		"Name":     {options: []string{optEquals, optBeginsWith, optContains}, field: func(p *state.Parameter) string { return p.Name }},
		"Type":     keyType,
		"KeyId":    keyKeyID,
		"Path":     {options: []string{optOneLevel, optRecursive}, path: true, check: func(v string) error { _, err := checkPath(v); return err }},
		"Tier":     {options: eqBegins, field: func(p *state.Parameter) string { return p.Tier }, check: checkTierValue},
		"DataType": {options: eqBegins, field: func(p *state.Parameter) string { return p.DataType }},
		"tag:":     {options: eqBegins, tag: true},
	}
)

// lookupKey finds a filter key, and for "tag:KEY" the tag key.
func lookupKey(keys map[string]filterKey, key string) (filterKey, string, bool) {
	if fk, ok := keys[key]; ok && key != "tag:" {
		return fk, "", true
	}
	if t, ok := strings.CutPrefix(key, "tag:"); ok && t != "" {
		fk, ok := keys["tag:"]
		return fk, t, ok
	}
	return filterKey{}, "", false
}

func checkTypeValue(v string) error {
	if !validType(v) {
		return awsproto.Errorf(codeInvalidFilterValue, "Type filter value %q is not a parameter type; use String, StringList or SecureString.", v)
	}
	return nil
}

func checkTierValue(v string) error {
	switch v {
	case tierStandard, "Advanced", "Intelligent-Tiering":
		return nil
	}
	return awsproto.Errorf(codeInvalidFilterValue, "Tier filter value %q is not a tier; use Standard, Advanced or Intelligent-Tiering.", v)
}

// compileFilters validates filters against the keys an operation accepts and
// returns a predicate that holds when every filter matches (each filter
// matching when any of its values does).
func compileFilters(filters []stringFilter, keys map[string]filterKey) (func(*state.Parameter) bool, error) {
	var preds []func(*state.Parameter) bool
	seen := map[string]bool{}
	for _, f := range filters {
		fk, tagKey, ok := lookupKey(keys, f.Key)
		if !ok {
			return nil, awsproto.Errorf(codeInvalidFilterKey, "Filter key %q is not supported here; use one of %s.", f.Key, keyNames(keys))
		}
		if seen[f.Key] {
			return nil, validation("Filter key %q appears more than once; give one filter per key with several Values instead.", f.Key)
		}
		seen[f.Key] = true
		opt := f.Option
		if opt == "" {
			opt = fk.options[0]
		}
		if !slices.Contains(fk.options, opt) {
			return nil, awsproto.Errorf(codeInvalidFilterOption, "Filter %s does not take option %q; it takes %s.", f.Key, opt, strings.Join(fk.options, " or "))
		}
		if err := checkValues(f, fk); err != nil {
			return nil, err
		}
		switch {
		case fk.tag:
			preds = append(preds, tagPred(tagKey, opt, f.Values))
		case fk.path:
			preds = append(preds, pathPred(opt, f.Values))
		default:
			preds = append(preds, valuePred(fk.field, opt, f.Values))
		}
	}
	return func(p *state.Parameter) bool {
		for _, pred := range preds {
			if !pred(p) {
				return false
			}
		}
		return true
	}, nil
}

func checkValues(f stringFilter, fk filterKey) error {
	if len(f.Values) == 0 && !fk.tag {
		return awsproto.Errorf(codeInvalidFilterValue, "Filter %s needs at least one value.", f.Key)
	}
	if len(f.Values) > 50 {
		return awsproto.Errorf(codeInvalidFilterValue, "Filter %s has %d values; the limit is 50.", f.Key, len(f.Values))
	}
	for _, v := range f.Values {
		if v == "" || len(v) > 1024 {
			return awsproto.Errorf(codeInvalidFilterValue, "Filter %s values must be 1 to 1024 characters long.", f.Key)
		}
		if fk.check == nil {
			continue
		}
		if err := fk.check(v); err != nil {
			if e, ok := awsproto.AsError(err); ok && e.Code != codeInvalidFilterValue {
				return awsproto.Errorf(codeInvalidFilterValue, "Filter %s: %s", f.Key, e.Message)
			}
			return err
		}
	}
	return nil
}

func keyNames(keys map[string]filterKey) string {
	var names []string
	for k := range keys {
		if k == "tag:" {
			k = "tag:KEY"
		}
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func compare(opt, have, want string) bool {
	switch opt {
	case optBeginsWith:
		return strings.HasPrefix(have, want)
	case optContains:
		return strings.Contains(have, want)
	}
	return have == want
}

func valuePred(field func(*state.Parameter) string, opt string, values []string) func(*state.Parameter) bool {
	return func(p *state.Parameter) bool {
		have := field(p)
		return slices.ContainsFunc(values, func(v string) bool { return compare(opt, have, v) })
	}
}

func pathPred(opt string, values []string) func(*state.Parameter) bool {
	paths := make([]string, len(values))
	for i, v := range values {
		paths[i], _ = checkPath(v) // validated before
	}
	return func(p *state.Parameter) bool {
		return slices.ContainsFunc(paths, func(path string) bool { return underPath(p.Name, path, opt == optRecursive) })
	}
}

// tagPred matches parameters carrying the tag; with values, the tag's value
// must match one of them too.
func tagPred(key, opt string, values []string) func(*state.Parameter) bool {
	return func(p *state.Parameter) bool {
		for _, t := range p.Tags {
			if t.Key == key {
				return len(values) == 0 || slices.ContainsFunc(values, func(v string) bool { return compare(opt, t.Value, v) })
			}
		}
		return false
	}
}

// fromOldFilters turns DescribeParameters' deprecated Filters into
// ParameterFilters: Name matches names that begin with a value, Type and
// KeyId match exactly.
func fromOldFilters(old []oldFilter) ([]stringFilter, error) {
	out := make([]stringFilter, 0, len(old))
	for _, f := range old {
		opt := optEquals
		switch f.Key {
		case "Name":
			opt = optBeginsWith
		case "Type", "KeyId":
		default:
			return nil, awsproto.Errorf(codeInvalidFilterKey, "Filters key %q is not supported; use Name, Type or KeyId (or ParameterFilters).", f.Key)
		}
		out = append(out, stringFilter{Key: f.Key, Option: opt, Values: f.Values})
	}
	return out, nil
}
