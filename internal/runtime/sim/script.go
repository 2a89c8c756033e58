package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Environment variables that script a simulated container. Tests and
// benchmarks set them in a container definition (or a RunTask override) to
// get a workload that fails, exits or turns unhealthy on cue. Other SIM_
// names are left alone: a real task definition may use them for itself.
const (
	// EnvExitAfter makes the container exit by itself this long after it
	// starts running (a Go duration such as 2s), with EnvExitCode.
	EnvExitAfter = "SIM_EXIT_AFTER"
	// EnvExitCode is the exit code for EnvExitAfter (0-255, default 0).
	EnvExitCode = "SIM_EXIT_CODE"
	// EnvOOMAfter makes the kernel kill the container for memory this
	// long after it starts: exit code 137 with OOMKilled.
	EnvOOMAfter = "SIM_OOM_AFTER"
	// EnvHealth is the verdict of the container's health check: HEALTHY
	// (default), UNHEALTHY or UNKNOWN. Without a health check in the spec
	// the container has no health, as on Docker.
	EnvHealth = "SIM_HEALTH"
	// EnvHealthAfter overrides Options.HealthDelay for this container.
	EnvHealthAfter = "SIM_HEALTH_AFTER"
	// EnvUnhealthyAfter turns a container with a health check UNHEALTHY
	// this long after it starts, whatever its first verdict was.
	EnvUnhealthyAfter = "SIM_UNHEALTHY_AFTER"
	// EnvIgnoreSIGTERM (true/false) makes Stop wait for its timeout and
	// kill the container (exit 137).
	EnvIgnoreSIGTERM = "SIM_IGNORE_SIGTERM"
	// EnvStartError makes every Start fail with this message, as a bad
	// entry point fails on Docker.
	EnvStartError = "SIM_START_ERROR"
	// EnvCPULoad is the share of its CPU units the container keeps busy,
	// for Stats (default 0.25; 1 means all of them).
	EnvCPULoad = "SIM_CPU_LOAD"
	// EnvMemoryLoad is the share of its memory (the hard limit, else the
	// reservation, else 64 MiB) the container uses, for Stats (default 0.5).
	EnvMemoryLoad = "SIM_MEMORY_LOAD"
)

const (
	defaultCPULoad    = 0.25
	defaultMemoryLoad = 0.5
)

// unset marks a duration the script does not give.
const unset time.Duration = -1

// script is what a container's SIM_ variables ask of it. Durations are unset
// when their variable is absent; zero means at once.
type script struct {
	exitAfter      time.Duration
	exitCode       int
	oomAfter       time.Duration
	health         runtime.Health
	healthAfter    time.Duration // unset: Options.HealthDelay
	unhealthyAfter time.Duration
	ignoreTERM     bool
	startError     string
	cpuLoad        float64
	memoryLoad     float64
}

// parseScript reads the SIM_ variables of env; nil when there are none, so
// that ordinary containers carry nothing extra. A malformed value is an
// error that names the variable and the form it takes.
func parseScript(env map[string]string) (*script, error) {
	if !hasSimVar(env) {
		return nil, nil
	}
	s := &script{cpuLoad: defaultCPULoad, memoryLoad: defaultMemoryLoad}
	var err error
	duration := func(name string) time.Duration {
		v, ok := env[name]
		if !ok || err != nil {
			return unset
		}
		d, perr := time.ParseDuration(v)
		if perr != nil || d < 0 {
			err = fmt.Errorf("%s=%q: want a duration such as 2s or 500ms", name, v)
		}
		return d
	}
	load := func(name string, def float64) float64 {
		v, ok := env[name]
		if !ok || err != nil {
			return def
		}
		f, perr := strconv.ParseFloat(v, 64)
		if perr != nil || f < 0 || f > 1 {
			err = fmt.Errorf("%s=%q: want a share between 0 and 1, such as 0.5", name, v)
		}
		return f
	}
	s.exitAfter = duration(EnvExitAfter)
	s.oomAfter = duration(EnvOOMAfter)
	s.unhealthyAfter = duration(EnvUnhealthyAfter)
	s.healthAfter = duration(EnvHealthAfter)
	s.cpuLoad = load(EnvCPULoad, defaultCPULoad)
	s.memoryLoad = load(EnvMemoryLoad, defaultMemoryLoad)
	if err != nil {
		return nil, err
	}
	if v, ok := env[EnvExitCode]; ok {
		code, perr := strconv.Atoi(v)
		if perr != nil || code < 0 || code > 255 {
			return nil, fmt.Errorf("%s=%q: want an exit code from 0 to 255", EnvExitCode, v)
		}
		if s.exitAfter == unset {
			return nil, fmt.Errorf("%s=%q needs %s, the time after which the container exits", EnvExitCode, v, EnvExitAfter)
		}
		s.exitCode = code
	}
	if v, ok := env[EnvHealth]; ok {
		switch h := runtime.Health(strings.ToUpper(v)); h {
		case runtime.HealthHealthy, runtime.HealthUnhealthy, runtime.HealthUnknown:
			s.health = h
		default:
			return nil, fmt.Errorf("%s=%q: want HEALTHY, UNHEALTHY or UNKNOWN", EnvHealth, v)
		}
	}
	if v, ok := env[EnvIgnoreSIGTERM]; ok {
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return nil, fmt.Errorf("%s=%q: want true or false", EnvIgnoreSIGTERM, v)
		}
		s.ignoreTERM = b
	}
	s.startError = env[EnvStartError]
	return s, nil
}

func hasSimVar(env map[string]string) bool {
	for k := range env {
		if strings.HasPrefix(k, "SIM_") {
			return true
		}
	}
	return false
}
