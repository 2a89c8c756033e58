package ecsapi

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wharf-ecs/wharf/internal/model"
)

// Attribute rules shared by RegisterContainerInstance and the attribute
// operations.

const (
	// maxCustomAttributes is ECS's limit of custom attributes per resource.
	maxCustomAttributes = 10
	// builtinAttrPrefix and agentCapabilityPrefix mark the attributes ECS and
	// its agent set (ecs.os-type, ecs.capability.*,
	// com.amazonaws.ecs.capability.docker-remote-api.1.44, ...). They do not
	// count as custom, and only a registration may set them, so that
	// PutAttributes and DeleteAttributes cannot make an instance lie to
	// placement about what it is.
	builtinAttrPrefix     = "ecs."
	agentCapabilityPrefix = "com.amazonaws.ecs."

	targetContainerInstance = model.TargetType("container-instance")
)

// validAttributeName: 1 to 128 of letters, digits, '-', '_', '/', '\', '.'.
func validAttributeName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '/' || c == '\\' || c == '.') {
			return false
		}
	}
	return true
}

// validAttributeValue: 1 to 128 characters, no control characters, and no
// space at either end.
func validAttributeValue(s string) bool {
	n := utf8.RuneCountInString(s)
	if n == 0 || n > 128 || !utf8.ValidString(s) {
		return false
	}
	if strings.TrimSpace(s) != s {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}

// validateAttrNameValue checks the name and, when given, the value.
func validateAttrNameValue(at model.Attribute) error {
	if !validAttributeName(at.Name) {
		return invalidParam("Invalid attribute name %q: use 1 to 128 letters, numbers, hyphens, underscores, slashes, backslashes or periods.", at.Name)
	}
	if at.Value != "" && !validAttributeValue(at.Value) {
		return invalidParam("Invalid value %q for attribute %s: use 1 to 128 characters without a leading or trailing space.", at.Value, at.Name)
	}
	return nil
}

func isBuiltinAttr(name string) bool {
	return strings.HasPrefix(name, builtinAttrPrefix) || strings.HasPrefix(name, agentCapabilityPrefix)
}

// countCustomAttrs counts the attributes that count against ECS's limit.
func countCustomAttrs(attrs []model.Attribute) int {
	n := 0
	for _, at := range attrs {
		if !isBuiltinAttr(at.Name) {
			n++
		}
	}
	return n
}

// setAttr sets name=value, replacing an attribute of the same name. It
// reports whether anything changed.
func setAttr(attrs []model.Attribute, name, value string) ([]model.Attribute, bool) {
	i := slices.IndexFunc(attrs, func(at model.Attribute) bool { return at.Name == name })
	if i < 0 {
		return append(attrs, model.Attribute{Name: name, Value: value}), true
	}
	if attrs[i].Value == value {
		return attrs, false
	}
	attrs[i].Value = value
	return attrs, true
}

// dropAttr removes the attribute of that name and reports whether it was there.
func dropAttr(attrs []model.Attribute, name string) ([]model.Attribute, bool) {
	i := slices.IndexFunc(attrs, func(at model.Attribute) bool { return at.Name == name })
	if i < 0 {
		return attrs, false
	}
	return slices.Delete(attrs, i, i+1), true
}

// registrationAttrs validates the attributes an agent registers with and
// returns them as stored (name and value only; a later entry of the same name
// wins, as PutAttributes would have it).
func registrationAttrs(in []model.Attribute) ([]model.Attribute, error) {
	var out []model.Attribute
	for _, at := range in {
		if err := validateAttrNameValue(at); err != nil {
			return nil, err
		}
		if at.TargetType != "" && at.TargetType != targetContainerInstance {
			return nil, invalidParam("Invalid targetType %q for attribute %s: the only target type is container-instance.", at.TargetType, at.Name)
		}
		out, _ = setAttr(out, at.Name, at.Value)
	}
	if n := countCustomAttrs(out); n > maxCustomAttributes {
		return nil, invalidParam("Too many custom attributes: %d given, at most %d are allowed per container instance (attributes named ecs.* or com.amazonaws.ecs.* do not count).", n, maxCustomAttributes)
	}
	return out, nil
}

// reregistrationAttrs merges a new registration's attributes into an
// instance's: the built-in ones are replaced wholesale (the agent reports
// what it is now), custom ones set with PutAttributes are kept unless the
// registration sets the same name.
func reregistrationAttrs(have, reg []model.Attribute) []model.Attribute {
	var out []model.Attribute
	for _, at := range have {
		if !isBuiltinAttr(at.Name) {
			out = append(out, model.Attribute{Name: at.Name, Value: at.Value})
		}
	}
	for _, at := range reg {
		out, _ = setAttr(out, at.Name, at.Value)
	}
	return out
}
