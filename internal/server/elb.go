package server

import (
	"context"
	"net"
	"net/http"

	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/elbapi"
	"github.com/wharf-ecs/wharf/internal/lb"
)

// Load balancing: the ELBv2 API (AWS Query protocol, signed for
// elasticloadbalancing), the configuration service `wharf lb` nodes poll, the
// health checker, and, unless --lb-address is "off", a data plane node in
// this process binding the listeners.
func init() {
	register("elb", func(x *Setup) error {
		log := x.Config.Log.With("subsystem", "elb")
		api := elbapi.New(elbapi.Config{
			Store:     x.Store,
			Region:    x.Config.Region,
			AccountID: x.Config.AccountID,
			DNSName:   lbDNSName(x.Config.LoadBalancerAddress),
			Log:       log,
			Check: func(r *http.Request, op string, implemented bool, body []byte) (context.Context, error) {
				return x.Gate.Check(r, elbapi.Prefix, op, implemented, body)
			},
			Audit:       x.Audit,
			LeaderStore: x.LeaderStore(),
		})
		x.Gate.Register(elbapi.Prefix, auth.Rules{
			SigningName:  "elasticloadbalancing",
			ActionPrefix: "elasticloadbalancing",
			Resources:    api.Resources,
		})
		x.Query(api)
		x.Mux.Add(api.DataPlaneService())
		x.Gate.Register(elbapi.DataPlaneTarget, auth.Rules{
			SigningName:  "elasticloadbalancing",
			ActionPrefix: "wharf",
			// The long poll paces itself.
			Unlimited: map[string]bool{elbapi.GetConfig: true},
		})
		x.Background(api.Run)
		// One writer among replicated servers: the leader checks health
		// and removes drained targets.
		x.LeaderBackground(api.RunJanitor)
		x.LeaderBackground(lb.NewChecker(api, api, log.With("component", "health")).Run)
		if x.Config.LoadBalancerAddress != "off" {
			node := lb.NewNode(lb.NodeConfig{Source: api, Address: x.Config.LoadBalancerAddress, Log: log.With("component", "data-plane")})
			x.Background(func(ctx context.Context) { _ = node.Run(ctx) })
		}
		return nil
	})
}

// lbDNSName is the name load balancers answer as their DNSName: the address
// their listeners bind on, or localhost when they bind every interface.
func lbDNSName(addr string) string {
	if addr == "" || addr == "off" {
		return "localhost"
	}
	if ip := net.ParseIP(addr); ip != nil && ip.IsUnspecified() {
		return "localhost"
	}
	return addr
}
