package ecsapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wharf-ecs/wharf/internal/model"
)

// Validation of RunTask and StartTask input that needs no I/O. Checks that
// depend on the task definition live in task_build.go.

const (
	maxRunTaskCount     = 10
	maxStartTaskTargets = 10
	maxOverridesChars   = 8192
	maxConstraints      = 10
	maxStrategies       = 5
	maxMemberOfChars    = 2000
	maxGroupChars       = 255
	maxReasonChars      = 255
	maxClientTokenChars = 64
	minContainerMemory  = 6 // MiB; Docker refuses less
)

// validateStartedBy applies ECS's rule for startedBy: up to max letters,
// numbers, hyphens, slashes and underscores (128 for RunTask, 36 for StartTask).
func validateStartedBy(s string, max int) error {
	if len(s) > max {
		return invalidParam("startedBy must be at most %d characters; got %d.", max, len(s))
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '/') {
			return invalidParam("startedBy %q contains %q: only letters, numbers, hyphens (-), forward slashes (/) and underscores (_) are allowed.", s, c)
		}
	}
	return nil
}

func validateGroup(g string) error {
	if len(g) > maxGroupChars {
		return invalidParam("group must be at most %d characters; got %d.", maxGroupChars, len(g))
	}
	return nil
}

// validateClientToken applies RunTask's rule: up to 64 characters in the
// range 33-126 (printable ASCII without space).
func validateClientToken(tok string) error {
	if len(tok) > maxClientTokenChars {
		return invalidParam("clientToken must be at most %d characters; got %d.", maxClientTokenChars, len(tok))
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < 33 || tok[i] > 126 {
			return invalidParam("clientToken may only hold printable ASCII characters without spaces (codes 33 to 126).")
		}
	}
	return nil
}

func validateCount(count *int32) (int, error) {
	if count == nil {
		return 1, nil
	}
	if *count < 1 || *count > maxRunTaskCount {
		return 0, invalidParam("count must be between 1 and %d; got %d. Call RunTask again for more tasks.", maxRunTaskCount, *count)
	}
	return int(*count), nil
}

// validatePlacementConstraints checks RunTask's constraints the way ECS does
// (memberOf expressions are parsed) and reports whether distinctInstance is
// among them.
func validatePlacementConstraints(cs []model.PlacementConstraint) (distinct bool, err error) {
	if len(cs) > maxConstraints {
		return false, invalidParam("At most %d placement constraints are allowed per task; got %d.", maxConstraints, len(cs))
	}
	for _, c := range cs {
		switch c.Type {
		case model.PlacementConstraintTypeDistinctInstance:
			if c.Expression != "" {
				return false, invalidParam("A distinctInstance placement constraint takes no expression; remove %q.", c.Expression)
			}
			distinct = true
		case model.PlacementConstraintTypeMemberOf:
			if err := validateMemberOf(c.Expression); err != nil {
				return false, err
			}
		case "":
			return false, invalidParam("Each placement constraint needs a type: distinctInstance or memberOf.")
		default:
			return false, invalidParam("Invalid placement constraint type %q: use distinctInstance or memberOf.", c.Type)
		}
	}
	return distinct, nil
}

// validateMemberOf checks a memberOf expression: present, and valid in the
// cluster query language.
func validateMemberOf(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return invalidParam("A memberOf placement constraint needs an expression in the cluster query language, e.g. attribute:ecs.instance-type == t2.small.")
	}
	_, err := parseQuery("memberOf", expr)
	return err
}

// validatePlacementStrategy checks the strategy rules as ECS does.
func validatePlacementStrategy(ss []model.PlacementStrategy) error {
	if len(ss) > maxStrategies {
		return invalidParam("At most %d placement strategy rules are allowed per task; got %d.", maxStrategies, len(ss))
	}
	for _, s := range ss {
		switch s.Type {
		case model.PlacementStrategyTypeRandom:
			if s.Field != "" {
				return invalidParam("The random placement strategy takes no field; remove %q.", s.Field)
			}
		case model.PlacementStrategyTypeBinpack:
			switch strings.ToLower(s.Field) {
			case "cpu", "memory":
			default:
				return invalidParam("Invalid field %q for the binpack placement strategy: use cpu or memory.", s.Field)
			}
		case model.PlacementStrategyTypeSpread:
			f := s.Field
			switch {
			case strings.EqualFold(f, "instanceId"), strings.EqualFold(f, "host"):
			case strings.HasPrefix(f, "attribute:") && len(f) > len("attribute:"):
			default:
				return invalidParam("Invalid field %q for the spread placement strategy: use instanceId, host or attribute:<name>, e.g. attribute:ecs.availability-zone.", f)
			}
		case "":
			return invalidParam("Each placement strategy needs a type: random, spread or binpack.")
		default:
			return invalidParam("Invalid placement strategy type %q: use random, spread or binpack.", s.Type)
		}
	}
	return nil
}

// validatePropagateTags accepts what a standalone task may use.
func validatePropagateTags(p model.PropagateTags) error {
	switch p {
	case "", model.PropagateTagsNone, model.PropagateTagsTaskDefinition:
		return nil
	case model.PropagateTagsService:
		return invalidParam("propagateTags SERVICE is only valid for tasks a service starts; for a standalone task use TASK_DEFINITION or NONE.")
	}
	return invalidParam("Invalid propagateTags %q: use TASK_DEFINITION or NONE.", p)
}

// validateOverridesShape checks what needs no task definition: the total
// size, names, and the numbers.
func validateOverridesShape(ov *model.TaskOverride) error {
	if ov == nil {
		return nil
	}
	b, err := json.Marshal(ov)
	if err != nil {
		return invalidParam("overrides could not be encoded: %v.", err)
	}
	if len(b) > maxOverridesChars {
		return invalidParam("overrides are %d characters long as JSON; at most %d are allowed. Shorten the commands or environment, or put them in the task definition.", len(b), maxOverridesChars)
	}
	seen := map[string]bool{}
	for _, co := range ov.ContainerOverrides {
		if co.Name == "" {
			return invalidParam("Each container override needs the name of the container it applies to.")
		}
		if seen[co.Name] {
			return invalidParam("Container %q has more than one override; merge them into one.", co.Name)
		}
		seen[co.Name] = true
		if co.Cpu != nil && *co.Cpu < 0 {
			return invalidParam("The cpu override of container %q must not be negative; got %d.", co.Name, *co.Cpu)
		}
		for _, m := range []struct {
			name string
			v    *int32
		}{{"memory", co.Memory}, {"memoryReservation", co.MemoryReservation}} {
			if m.v != nil && *m.v < minContainerMemory {
				return invalidParam("The %s override of container %q must be at least %d MiB; got %d.", m.name, co.Name, minContainerMemory, *m.v)
			}
		}
		for _, e := range co.Environment {
			if e.Name == "" {
				return invalidParam("An environment override of container %q has no name.", co.Name)
			}
		}
	}
	if ov.Cpu != "" {
		if _, ok := parseTaskCPU(ov.Cpu); !ok {
			return invalidParam("Invalid task cpu override %q: give CPU units (e.g. 512) or vCPUs (e.g. 0.5 vCPU).", ov.Cpu)
		}
	}
	if ov.Memory != "" {
		if _, ok := parseTaskMemory(ov.Memory); !ok {
			return invalidParam("Invalid task memory override %q: give MiB (e.g. 1024) or GB (e.g. 1 GB).", ov.Memory)
		}
	}
	return nil
}

// parseTaskCPU reads a task-level cpu value: CPU units ("512") or vCPUs
// ("0.5 vCPU"), as task definitions and overrides write them.
func parseTaskCPU(s string) (int32, bool) {
	return parseUnits(s, []string{"vcpu"}, 1024)
}

// parseTaskMemory reads a task-level memory value: MiB ("1024") or GB ("1 GB").
func parseTaskMemory(s string) (int32, bool) {
	return parseUnits(s, []string{"gb", "gib"}, 1024)
}

func parseUnits(s string, suffixes []string, scale float64) (int32, bool) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, suf := range suffixes {
		if strings.HasSuffix(t, suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, suf)), scale
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 || f*mult > 1<<30 {
		return 0, false
	}
	v := f * mult
	if v != float64(int32(v)) {
		return 0, false
	}
	return int32(v), true
}

// validateReason bounds StopTask's reason.
func validateReason(r string) error {
	if len(r) > maxReasonChars {
		return invalidParam("reason must be at most %d characters; got %d.", maxReasonChars, len(r))
	}
	return nil
}

// containerNames lists a task definition's container names for messages.
func containerNames(td *model.TaskDefinition) string {
	names := make([]string, 0, len(td.ContainerDefinitions))
	for _, c := range td.ContainerDefinitions {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	return fmt.Sprintf("%q", names)
}
