package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/ecsapi"
	"github.com/wharf-ecs/wharf/internal/events"
)

// The events extension: ECS events in the EventBridge shapes, streamed at
// GET /events as server-sent events and POSTed to --events-webhook URLs.

func init() { register("events", setupEvents) }

func setupEvents(x *Setup) error {
	for _, u := range x.Config.EventWebhooks {
		if err := checkWebhookURL(u); err != nil {
			return err
		}
	}
	bus := events.New(events.Config{
		Store:     x.Store,
		Region:    x.Config.Region,
		AccountID: x.Config.AccountID,
		Log:       x.Server.log.With("subsystem", "events"),
		Webhooks:  x.Config.EventWebhooks,
	})
	x.Background(bus.Run)
	x.OnShutdown(bus.Close) // open streams would hold the HTTP shutdown up

	arns := x.Server.api.ARNs()
	x.Gate.Register(observePrefix, observeRules)
	x.HTTP.Handle("GET /events", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cluster, err := clusterParam(r.URL.Query().Get("cluster"))
		if err != nil {
			writeAWSError(w, err)
			return
		}
		resources := []string{"*"}
		if cluster != "" {
			resources = []string{arns.Cluster(cluster)}
		}
		if err := authorizeObserver(x, r, "GetEvents", resources); err != nil {
			writeAWSError(w, err)
			return
		}
		bus.ServeStream(w, r, cluster)
	}))

	reg := x.Server.observability().reg
	for _, m := range []struct {
		name, help string
		gauge      bool
		v          func(events.Stats) float64
	}{
		{"wharf_events_published_total", "ECS events derived from state changes.", false,
			func(s events.Stats) float64 { return float64(s.Published) }},
		{"wharf_events_stream_lagged_total", "/events streams closed because their client fell too far behind.", false,
			func(s events.Stats) float64 { return float64(s.Lagged) }},
		{"wharf_events_streams", "/events streams open.", true,
			func(s events.Stats) float64 { return float64(s.Subscribers) }},
		{"wharf_events_webhook_delivered_total", "Events POSTed to webhooks successfully.", false,
			func(s events.Stats) float64 { return float64(s.Delivered) }},
		{"wharf_events_webhook_failed_total", "Events a webhook refused, or that failed every retry.", false,
			func(s events.Stats) float64 { return float64(s.Failed) }},
		{"wharf_events_webhook_dropped_total", "Events dropped, oldest first, from a webhook's full queue.", false,
			func(s events.Stats) float64 { return float64(s.Overflowed) }},
		{"wharf_events_webhook_queued", "Events waiting for webhook delivery.", true,
			func(s events.Stats) float64 { return float64(s.Queued) }},
	} {
		read := func() float64 { return m.v(bus.Stats()) }
		if m.gauge {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: m.name, Help: m.help}, read))
		} else {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help}, read))
		}
	}
	return nil
}

// checkWebhookURL refuses a webhook that could never be POSTed to.
func checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--events-webhook %q: give an http:// or https:// URL with a host", s)
	}
	return nil
}

// clusterParam reads /events' ?cluster= (a name or an ARN; "" for every
// cluster).
func clusterParam(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	name := v
	if strings.HasPrefix(v, "arn:") {
		p, err := ecsapi.ParseARN(v)
		if err != nil || p.Type != "cluster" || len(p.Parts) != 1 {
			return "", awsproto.Errorf("InvalidParameterException", "Invalid cluster %q: give a cluster name or an ARN of the form arn:aws:ecs:REGION:ACCOUNT:cluster/NAME.", clipParam(v))
		}
		name = p.Parts[0]
	}
	if len(name) > 255 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		return "", awsproto.Errorf("InvalidParameterException", "Invalid cluster name %q: up to 255 letters, numbers, underscores and hyphens.", clipParam(v))
	}
	return name, nil
}

func clipParam(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
