package elbapi

import (
	"errors"
	"strings"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Enumerations Wharf serves.
const (
	lbApplication = "application"
	lbNetwork     = "network"

	protoHTTP = "HTTP"
	protoTCP  = "TCP"

	actionForward       = "forward"
	actionFixedResponse = "fixed-response"

	fieldPathPattern = "path-pattern"
	fieldHostHeader  = "host-header"

	targetInstance = "instance"
	targetIP       = "ip"
)

const (
	maxTags        = 50
	maxNameLen     = 32
	maxRulesPerLsn = 100
	maxTargets     = 1000
	maxPageSize    = 400
)

// validResourceName applies the naming rule of load balancers and target
// groups: 1 to 32 letters, digits and hyphens, not beginning or ending with
// a hyphen.
func validResourceName(kind, name string) error {
	if name == "" {
		return validation("%s name is required: 1 to %d letters, digits and hyphens.", kind, maxNameLen)
	}
	if len(name) > maxNameLen {
		return validation("%s name '%s' cannot be longer than %d characters.", kind, truncate(name), maxNameLen)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return validation("%s name '%s' can contain only alphanumeric characters and hyphens.", kind, truncate(name))
		}
	}
	if strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") {
		return validation("%s name '%s' cannot begin or end with a hyphen.", kind, name)
	}
	return nil
}

// validTags checks tags as ELB does and returns them as stored.
func validTags(in []tagIn) ([]state.ELBTag, error) {
	if len(in) > maxTags {
		return nil, apiErr(codeTooManyTags, "A resource can have at most %d tags; %d were given.", maxTags, len(in))
	}
	seen := map[string]bool{}
	out := make([]state.ELBTag, 0, len(in))
	for _, t := range in {
		if t.Key == nil || *t.Key == "" || len(*t.Key) > 128 {
			return nil, validation("Each tag needs a Key of 1 to 128 characters.")
		}
		if len(t.Value) > 256 {
			return nil, validation("The value of tag '%s' is longer than 256 characters.", truncate(*t.Key))
		}
		if strings.HasPrefix(strings.ToLower(*t.Key), "aws:") {
			return nil, validation("Tag keys beginning with 'aws:' are reserved; rename tag '%s'.", truncate(*t.Key))
		}
		if seen[*t.Key] {
			return nil, apiErr(codeDuplicateTagKeys, "Tag key '%s' is given more than once.", truncate(*t.Key))
		}
		seen[*t.Key] = true
		out = append(out, state.ELBTag{Key: *t.Key, Value: t.Value})
	}
	return out, nil
}

// mergeTags adds or replaces tags.
func mergeTags(cur, add []state.ELBTag) []state.ELBTag {
	out := append([]state.ELBTag(nil), cur...)
next:
	for _, t := range add {
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value = t.Value
				continue next
			}
		}
		out = append(out, t)
	}
	return out
}

// pageOf cuts a sorted list of names at marker (the first name of the page)
// to pageSize, and returns the marker of the next page ("" at the end).
func pageOf[T any](items []T, name func(T) string, marker string, pageSize *int32) ([]T, string, error) {
	size := maxPageSize
	if pageSize != nil {
		if *pageSize < 1 || *pageSize > maxPageSize {
			return nil, "", validation("PageSize must be between 1 and %d; got %d.", maxPageSize, *pageSize)
		}
		size = int(*pageSize)
	}
	start := 0
	if marker != "" {
		start = len(items)
		for i, it := range items {
			if name(it) >= marker {
				start = i
				break
			}
		}
	}
	items = items[start:]
	if len(items) <= size {
		return items, "", nil
	}
	return items[:size], name(items[size]), nil
}

// errorCode is the API error code of err, if it is an API error.
func errorCode(err error) (string, bool) {
	if e, ok := awsproto.AsError(err); ok {
		return e.Code, true
	}
	return "", false
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
