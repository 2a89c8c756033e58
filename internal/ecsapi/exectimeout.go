package ecsapi

import (
	"strconv"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
)

// ExecutionTimeoutTag limits how long a task may run (beyond ECS, which
// has no such limit): a Go duration ("90m", "2h30m") or whole seconds, on the
// launch (RunTask, StartTask, a service's tags) or on the task definition; the
// launch's wins. Once a task has run that long since it started, it is
// stopped with a reason saying so (internal/controller/timeout).
const ExecutionTimeoutTag = "wharf:executionTimeout"

// maxExecutionTimeout bounds the limit at a year.
const maxExecutionTimeout = 365 * 24 * time.Hour

// executionTimeout reads the limit from the launch's tags, else the task
// definition's, in seconds (0: none).
func executionTimeout(launch, taskDef []model.Tag) (int64, error) {
	for _, tags := range [][]model.Tag{launch, taskDef} {
		for _, t := range tags {
			if t.Key != ExecutionTimeoutTag {
				continue
			}
			d, err := time.ParseDuration(t.Value)
			if err != nil {
				n, nerr := strconv.ParseInt(t.Value, 10, 64)
				if nerr != nil {
					return 0, invalidParam("Tag %s has value %q: give a duration such as 90m or 2h, or whole seconds.", ExecutionTimeoutTag, t.Value)
				}
				d = time.Duration(n) * time.Second
			}
			if d < time.Second || d > maxExecutionTimeout {
				return 0, invalidParam("Tag %s is %q: give between 1s and %s.", ExecutionTimeoutTag, t.Value, maxExecutionTimeout)
			}
			return int64(d / time.Second), nil
		}
	}
	return 0, nil
}
