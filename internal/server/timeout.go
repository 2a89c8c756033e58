package server

import (
	"github.com/wharf-ecs/wharf/internal/controller/timeout"
)

// Tasks with a wharf:executionTimeout are stopped once they ran that long,
// by the leading server.
func init() {
	register("execution timeouts", func(x *Setup) error {
		ctl := timeout.New(timeout.Config{
			Store:   x.Store,
			Stopper: x.Server.API(),
			Log:     x.Server.log.With("controller", "timeout"),
		})
		x.LeaderBackground(ctl.Run)
		return nil
	})
}
