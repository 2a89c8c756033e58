package ecsapi

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wharf-ecs/wharf/internal/model"
)

// validateTags applies ECS's tag rules: at most 50, keys 1-128 and values up
// to 256 characters, no duplicate keys, and the reserved aws: prefix refused.
func validateTags(tags []model.Tag) error {
	if len(tags) > 50 {
		return invalidParam("Too many tags: %d given, at most 50 are allowed per resource.", len(tags))
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if t.Key == "" || utf8.RuneCountInString(t.Key) > 128 {
			return invalidParam("Tag keys must be 1 to 128 characters; got %q.", t.Key)
		}
		if utf8.RuneCountInString(t.Value) > 256 {
			return invalidParam("Tag value for key %q is longer than 256 characters.", t.Key)
		}
		if !validTagText(t.Key) || !validTagText(t.Value) {
			return invalidParam("Tag %q=%q has a character ECS does not allow: use letters, numbers, spaces and _ . : / = + - @.", t.Key, t.Value)
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalidParam("Tag key %q uses the reserved prefix aws:.", t.Key)
		}
		if seen[t.Key] {
			return invalidParam("Tag key %q is given more than once.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

// validTagText reports whether s matches the model's tag pattern
// [\p{L}\p{Z}\p{N}_.:/=+\-@]*.
func validTagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.In(r, unicode.Z) && !unicode.IsNumber(r) && !strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}

// mergeTags returns tags with add applied on top (same key: new value wins).
func mergeTags(tags, add []model.Tag) []model.Tag {
	out := append([]model.Tag(nil), tags...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value = t.Value
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	return out
}

// removeTags returns tags without the given keys.
func removeTags(tags []model.Tag, keys []string) []model.Tag {
	drop := make(map[string]bool, len(keys))
	for _, k := range keys {
		drop[k] = true
	}
	var out []model.Tag
	for _, t := range tags {
		if !drop[t.Key] {
			out = append(out, t)
		}
	}
	return out
}
