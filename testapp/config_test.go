package main

import (
	"io"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(c config) bool
	}{
		{"defaults", nil, nil, func(c config) bool {
			return c.port == 8080 && c.exitCode == -1 && !c.unhealthy && !c.ignoreSIGTERM
		}},
		{"env", nil, map[string]string{"PORT": "9000", "EXIT_CODE": "3", "EXIT_AFTER": "1.5", "IGNORE_SIGTERM": "true", "BURN_CPU": "2", "HOLD_MEMORY_MB": "64", "LOG_EVERY": "250ms", "LOG_LINES": "4"},
			func(c config) bool {
				return c.port == 9000 && c.exitCode == 3 && c.exitAfter == 1500*time.Millisecond &&
					c.ignoreSIGTERM && c.burnCPU == 2 && c.holdMemoryMB == 64 &&
					c.logEvery == 250*time.Millisecond && c.logLines == 4
			}},
		{"flag wins over env", []string{"-port", "7000"}, map[string]string{"PORT": "9000"}, func(c config) bool { return c.port == 7000 }},
		{"healthcheck", []string{"-healthcheck", "http://127.0.0.1:8080/health"}, nil, func(c config) bool {
			return c.healthcheckURL == "http://127.0.0.1:8080/health" && c.healthcheckTimeout > 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, mapEnv(tt.env), io.Discard)
			if err != nil {
				t.Fatalf("parseConfig(%q) error: %v", tt.args, err)
			}
			if !tt.want(c) {
				t.Errorf("parseConfig(%q, %v) = %+v; not what was asked for", tt.args, tt.env, c)
			}
		})
	}
}

func TestParseConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"bad env int", nil, map[string]string{"EXIT_CODE": "three"}},
		{"bad env bool", nil, map[string]string{"UNHEALTHY": "maybe"}},
		{"bad env duration", nil, map[string]string{"LOG_EVERY": "soon"}},
		{"exit code too big", []string{"-exit-code", "256"}, nil},
		{"port out of range", []string{"-port", "70000"}, nil},
		{"negative memory", []string{"-hold-memory-mb", "-1"}, nil},
		{"stray argument", []string{"serve"}, nil},
		{"unknown flag", []string{"-nope"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := parseConfig(tt.args, mapEnv(tt.env), io.Discard); err == nil {
				t.Errorf("parseConfig(%q, %v) = %+v; want an error", tt.args, tt.env, c)
			}
		})
	}
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
