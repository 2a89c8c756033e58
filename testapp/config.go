package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

// errHelp reports that -h was asked for and usage was printed.
var errHelp = flag.ErrHelp

// config is everything the workload can be told. Every flag also reads an
// environment variable, because ECS task definitions set behaviour through
// environment far more naturally than through a command; a flag given on the
// command line wins over the variable.
type config struct {
	port           int
	unhealthy      bool          // /health answers 500 from the start
	exitCode       int           // < 0: never exit by itself
	exitAfter      time.Duration // delay before exiting with exitCode
	ignoreSIGTERM  bool          // keep running on SIGTERM (SIGKILL still works)
	burnCPU        int           // goroutines spinning on the CPU
	holdMemoryMB   int           // MiB allocated and touched at start
	logEvery       time.Duration // interval of periodic log lines; 0: none
	logLines       int           // how many periodic lines; 0: unlimited
	logStderr      bool          // periodic lines go to stderr instead of stdout
	healthcheckURL string        // non-empty: probe this URL and exit 0/1
	// healthcheckTimeout bounds the probe, well under any sane ECS timeout.
	healthcheckTimeout time.Duration
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("testapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := envDefaults{getenv: getenv}
	var c config
	fs.IntVar(&c.port, "port", env.int("PORT", 8080), "HTTP port; 0 picks a free one (env PORT)")
	fs.BoolVar(&c.unhealthy, "unhealthy", env.bool("UNHEALTHY"), "start with /health failing (env UNHEALTHY)")
	fs.IntVar(&c.exitCode, "exit-code", env.int("EXIT_CODE", -1), "exit by itself with this code; -1 never (env EXIT_CODE)")
	fs.DurationVar(&c.exitAfter, "exit-after", env.duration("EXIT_AFTER", 0), "delay before -exit-code applies (env EXIT_AFTER)")
	fs.BoolVar(&c.ignoreSIGTERM, "ignore-sigterm", env.bool("IGNORE_SIGTERM"), "keep running on SIGTERM (env IGNORE_SIGTERM)")
	fs.IntVar(&c.burnCPU, "burn-cpu", env.int("BURN_CPU", 0), "goroutines busy-looping on the CPU (env BURN_CPU)")
	fs.IntVar(&c.holdMemoryMB, "hold-memory-mb", env.int("HOLD_MEMORY_MB", 0), "MiB to allocate and keep resident (env HOLD_MEMORY_MB)")
	fs.DurationVar(&c.logEvery, "log-every", env.duration("LOG_EVERY", 0), "print a log line at this interval (env LOG_EVERY)")
	fs.IntVar(&c.logLines, "log-lines", env.int("LOG_LINES", 0), "stop periodic logging after this many lines; 0 unlimited (env LOG_LINES)")
	fs.BoolVar(&c.logStderr, "log-stderr", env.bool("LOG_STDERR"), "periodic log lines go to stderr (env LOG_STDERR)")
	fs.StringVar(&c.healthcheckURL, "healthcheck", "", "GET this URL, exit 0 on 2xx and 1 otherwise, then stop")
	fs.DurationVar(&c.healthcheckTimeout, "healthcheck-timeout", 3*time.Second, "time limit of -healthcheck")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if env.err != nil {
		return config{}, env.err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case c.port < 0 || c.port > 65535:
		return config{}, fmt.Errorf("port %d out of range 0-65535", c.port)
	case c.exitCode < -1 || c.exitCode > 255:
		return config{}, fmt.Errorf("exit code %d out of range 0-255 (or -1 for never)", c.exitCode)
	case c.burnCPU < 0 || c.holdMemoryMB < 0 || c.logLines < 0:
		return config{}, errors.New("burn-cpu, hold-memory-mb and log-lines must not be negative")
	case c.exitAfter < 0 || c.logEvery < 0:
		return config{}, errors.New("exit-after and log-every must not be negative")
	}
	return c, nil
}

// envDefaults turns environment variables into flag defaults and remembers
// the first malformed one, so a typo in a task definition fails loudly
// instead of silently meaning "off".
type envDefaults struct {
	getenv func(string) string
	err    error
}

func (e *envDefaults) fail(name, v string, err error) {
	if e.err == nil {
		e.err = fmt.Errorf("env %s=%q: %w", name, v, err)
	}
}

func (e *envDefaults) int(name string, def int) int {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.fail(name, v, err)
		return def
	}
	return n
}

func (e *envDefaults) bool(name string) bool {
	v := e.getenv(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(name, v, err)
		return false
	}
	return b
}

// duration accepts Go durations ("1.5s") and, for convenience, plain seconds ("3").
func (e *envDefaults) duration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(secs * float64(time.Second))
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.fail(name, v, err)
		return def
	}
	return d
}
