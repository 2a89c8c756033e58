package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// ballast keeps the held memory reachable for the life of the process.
var ballast []byte

// startLoad starts the configured CPU burn, memory hold and periodic logging.
// They stop with ctx (or with the process).
func startLoad(ctx context.Context, cfg config, stdout, stderr io.Writer) {
	if cfg.holdMemoryMB > 0 {
		ballast = holdMemory(cfg.holdMemoryMB)
		fmt.Fprintf(stdout, "testapp: holding %d MiB\n", cfg.holdMemoryMB)
	}
	for range cfg.burnCPU {
		go burn(ctx)
	}
	if cfg.burnCPU > 0 {
		fmt.Fprintf(stdout, "testapp: burning CPU on %d goroutines\n", cfg.burnCPU)
	}
	if cfg.logEvery > 0 {
		out := stdout
		if cfg.logStderr {
			out = stderr
		}
		go logLines(ctx, out, cfg.logEvery, cfg.logLines)
	}
}

// holdMemory allocates mib MiB and writes to every page, because untouched
// pages are never made resident and would not count against a cgroup limit
// (so an OOM kill test would not trigger).
func holdMemory(mib int) []byte {
	b := make([]byte, mib<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

func burn(ctx context.Context) {
	for n := uint64(0); ; n++ {
		// Checking ctx on every iteration would dominate the loop; once in a
		// while is enough to stop promptly.
		if n%(1<<20) == 0 && ctx.Err() != nil {
			return
		}
	}
}

func logLines(ctx context.Context, out io.Writer, every time.Duration, limit int) {
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 1; limit == 0 || n <= limit; n++ {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fmt.Fprintf(out, "testapp: log line %d at %s\n", n, now.UTC().Format(time.RFC3339Nano))
		}
	}
}
