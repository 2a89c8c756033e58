package server

import (
	"github.com/wharf-ecs/wharf/internal/aasapi"
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/autoscaling"
)

// Service Auto Scaling: the Application Auto Scaling API (AWS JSON 1.1,
// signed for application-autoscaling) for ECS services, and the controller,
// run by the leader, that fires scheduled actions and evaluates scaling
// policies against the utilization agents report (docs/autoscaling.md).
func init() {
	register("autoscaling", func(x *Setup) error {
		log := x.Config.Log.With("subsystem", "autoscaling")
		s := x.Server
		api := aasapi.New(aasapi.Config{
			Store:     x.Store,
			Region:    x.Config.Region,
			AccountID: x.Config.AccountID,
			Actuator:  autoscaling.NewActuator(x.Store, s.API(), nil, log),
			Log:       log,
		})
		x.Mux.Add(api.Service())
		x.Gate.Register(aasapi.TargetPrefix, auth.Rules{
			SigningName:  aasapi.SigningName,
			ActionPrefix: aasapi.SigningName,
			Resources:    api.Resources,
		})
		ctl := autoscaling.New(autoscaling.Config{
			Store:    x.LeaderStore(),
			Metrics:  s.Metrics(),
			Services: s.API(),
			Tuning:   x.Config.AutoScaling,
			Log:      log,
		})
		x.LeaderBackground(ctl.Run)
		return nil
	})
}
