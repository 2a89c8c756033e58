// Command testapp is Wharf's test workload: a tiny static HTTP server whose
// behaviour (health, exit code, CPU and memory use, logging, signal handling)
// is chosen by flags or environment variables, so that runtime, agent and end
// to end tests can provoke every container fate ECS reports on. It is built
// into the FROM scratch image wharf-testapp:latest by scripts/test-images.sh,
// so it uses nothing beyond the standard library and needs no shell.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process-global parts, so tests can drive it.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, errHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "testapp: %v\n", err)
		return 2
	}
	// The health check mode runs inside the container through docker exec and
	// inherits the workload's environment (EXIT_CODE, BURN_CPU, ...), so it
	// must act on nothing else.
	if cfg.healthcheckURL != "" {
		return healthcheck(cfg.healthcheckURL, cfg.healthcheckTimeout, stderr)
	}
	return serve(cfg, stdout, stderr)
}

// serve runs the workload until a signal, a requested exit, or a fatal error.
func serve(cfg config, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Catch signals before anything else: a SIGTERM that arrived before
	// Notify would kill the process with 143 instead of a clean exit 0.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)

	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.port))
	if err != nil {
		fmt.Fprintf(stderr, "testapp: %v\n", err)
		return 1
	}
	app := newApp(cfg)
	srv := &http.Server{Handler: app.routes(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "testapp: listening on %s\n", ln.Addr())

	startLoad(ctx, cfg, stdout, stderr)

	var exitAfter <-chan time.Time
	if cfg.exitCode >= 0 {
		exitAfter = time.After(cfg.exitAfter)
	}

	code := 0
	for done := false; !done; {
		select {
		case sig := <-signals:
			if sig == syscall.SIGTERM && cfg.ignoreSIGTERM {
				// Stays up so tests can watch stopTimeout escalate to SIGKILL.
				fmt.Fprintln(stdout, "testapp: got SIGTERM, ignoring it")
				continue
			}
			fmt.Fprintf(stdout, "testapp: got %v, shutting down\n", sig)
			done = true
		case <-exitAfter:
			fmt.Fprintf(stdout, "testapp: exiting with code %d as configured\n", cfg.exitCode)
			code, done = cfg.exitCode, true
		case c := <-app.exitRequests:
			fmt.Fprintf(stdout, "testapp: exiting with code %d on request\n", c)
			code, done = c, true
		case err := <-served:
			fmt.Fprintf(stderr, "testapp: server: %v\n", err)
			return 1
		}
	}
	shutdownCtx, stop := context.WithTimeout(context.Background(), 2*time.Second)
	defer stop()
	_ = srv.Shutdown(shutdownCtx) // best effort: the exit code is what callers check
	return code
}
