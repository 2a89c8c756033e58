// Command wharf is Wharf's one binary: the control plane (server), the
// container agent (agent), and both on one machine (up).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := &cobra.Command{
		Use:           "wharf",
		Short:         "Wharf runs Amazon ECS on your own machines",
		Long:          "Wharf implements the Amazon ECS API and runs tasks as real Docker containers.\nThe aws CLI and SDKs drive it with --endpoint-url.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var logLevel, logFormat string
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	logger := func() (*slog.Logger, error) { return newLogger(logLevel, logFormat) }
	root.AddCommand(serverCmd(logger), agentCmd(logger), upCmd(logger), simCmd(logger), joinTokenCmd(), explainCmd(), restartContainerCmd(), lbCmd(logger), logsCmd(),
		capacityCmd(), spotInterruptCmd(), execCmd())
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "wharf:", err)
		os.Exit(1)
	}
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}
