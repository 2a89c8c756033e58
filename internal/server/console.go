package server

import (
	"github.com/wharf-ecs/wharf/internal/console"
)

// The console extension: the web console under /console (docs/console.md).
// Its pages are made of API calls served in process by the same Mux and
// gate as every client's, signed with the signed-in user's key, and follow
// the server's GET /events stream, read in process the same way.

func init() { register("console", setupConsole) }

func setupConsole(x *Setup) error {
	c, err := console.New(console.Config{
		API:         x.Mux,
		Events:      x.HTTP, // GET /events, when the events extension serves it
		Credentials: x.Config.Credentials,
		Region:      x.Config.Region,
		Secure:      x.Config.TLSCert != "",
		Log:         x.Server.log.With("subsystem", "console"),
	})
	if err != nil {
		return err
	}
	x.OnShutdown(c.Close) // open live streams would hold the HTTP shutdown up
	x.HTTP.Handle(console.Prefix, c)
	x.HTTP.Handle(console.Prefix+"/", c)
	return nil
}
