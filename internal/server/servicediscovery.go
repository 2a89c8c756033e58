package server

import (
	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/sdapi"
)

// Service discovery: the Cloud Map API, the registrar that registers the
// tasks of ECS services with serviceRegistries, and (with --dns-listen) the
// DNS server for private DNS namespaces.
func init() {
	register("servicediscovery", func(x *Setup) error {
		log := x.Config.Log.With("subsystem", "servicediscovery")
		api := sdapi.New(sdapi.Config{Store: x.Store, Region: x.Config.Region, AccountID: x.Config.AccountID, Log: log})
		x.Mux.Add(api.Service())
		x.Gate.Register(sdapi.TargetPrefix, auth.Rules{
			SigningName:  sdapi.SigningName,
			ActionPrefix: "servicediscovery",
			Resources:    api.Resources,
		})
		// The catalog (DiscoverInstances, DNS) runs in every server; the
		// registrar, which writes, on the leader.
		x.Background(api.Run)
		x.LeaderBackground(api.NewRegistrar(sdapi.RegistrarConfig{}).Run)
		if x.Config.DNSListen == "" {
			return nil
		}
		d, err := sdapi.ListenDNS(api.Catalog(), x.Config.DNSListen, log.With("component", "dns"))
		if err != nil {
			return err
		}
		x.Background(d.Serve)
		x.OnShutdown(d.Close)
		return nil
	})
}
