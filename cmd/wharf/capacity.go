package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/wharf-ecs/wharf/internal/capacity"
)

// capacityFlags are the server's managed scaling flags.
type capacityFlags struct {
	launcher     string
	image        string
	scaleInAfter time.Duration
	interval     time.Duration
}

func (c *capacityFlags) add(f *pflag.FlagSet) {
	f.StringVar(&c.launcher, "instance-launcher", "none", "what starts the instances of capacity providers with managed scaling and of the Fargate pool: docker (containers running wharf agent on this machine's Docker) or none (start agents by hand; see docs/capacity.md)")
	f.StringVar(&c.image, "agent-image", capacity.DefaultAgentImage, "image the docker instance launcher runs (built by scripts/agent-image.sh)")
	f.DurationVar(&c.scaleInAfter, "scale-in-after", 15*time.Minute, "how long CapacityProviderReservation must stay below the target before managed scaling terminates idle instances")
	f.DurationVar(&c.interval, "scaling-interval", 5*time.Second, "how often managed scaling reads the clusters and acts")
}

func (c *capacityFlags) options(ctx context.Context, log *slog.Logger) (capacity.Options, error) {
	o := capacity.Options{Tuning: capacity.Tuning{ScaleInAfter: c.scaleInAfter, Interval: c.interval}}
	switch c.launcher {
	case "", "none":
	case "docker":
		l, err := capacity.NewDockerLauncher(c.image, log.With("subsystem", "launcher"))
		if err != nil {
			return o, err
		}
		if err := l.Check(ctx); err != nil {
			return o, err
		}
		o.Launcher = l
	default:
		return o, fmt.Errorf("--instance-launcher %q: use docker or none", c.launcher)
	}
	return o, nil
}
