package server

import (
	"net"
	"net/url"

	"github.com/wharf-ecs/wharf/internal/capacity"
)

// Managed scaling: the scaler runs on the leader and launches instances
// through Config.Capacity.Launcher; launched agents reach this server at its
// own URL (a wildcard listen address becomes the loopback address, which
// agents on this machine share).
func init() {
	register("capacity", func(x *Setup) error {
		sc := capacity.New(capacity.Config{
			Store:    x.LeaderStore(),
			ECS:      x.Server.API(),
			Launcher: x.Config.Capacity.Launcher,
			Endpoint: localEndpoint(x.Server.URL()),
			Tuning:   x.Config.Capacity.Tuning,
			Log:      x.Config.Log.With("controller", "capacity"),
		})
		x.LeaderBackground(sc.Run)
		return nil
	})
}

// localEndpoint is u with an unspecified host (0.0.0.0, ::) made loopback.
func localEndpoint(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	host, port, err := net.SplitHostPort(p.Host)
	if err != nil {
		return u
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		p.Host = net.JoinHostPort("127.0.0.1", port)
	}
	return p.String()
}
