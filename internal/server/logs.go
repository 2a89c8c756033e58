package server

import (
	"context"
	"path/filepath"
	"time"

	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/logsapi"
	"github.com/wharf-ecs/wharf/internal/logsapi/logstore"
)

// The logs extension: the CloudWatch Logs API subset on a log store of its
// own under DATA-DIR/logs, where agents ship the output of awslogs
// containers (docs/logs.md).

func init() { register("logs", setupLogs) }

// defaultLogStorageLimit is Config.LogStorageLimit's default.
const defaultLogStorageLimit = 1 << 30

// logMaintenance is how often retention is enforced; the size limit is
// enforced as soon as an append crosses it too.
const logMaintenance = time.Minute

func setupLogs(x *Setup) error {
	limit := x.Config.LogStorageLimit
	switch {
	case limit == 0:
		limit = defaultLogStorageLimit
	case limit < 0:
		limit = 0 // no limit
	}
	log := x.Server.log.With("subsystem", "logs")
	st, err := logstore.Open(filepath.Join(x.Config.DataDir, "logs", "logs.db"), logstore.Options{Limit: limit, Log: log})
	if err != nil {
		return err
	}
	over := make(chan struct{}, 1)
	api := logsapi.New(logsapi.Config{
		Logs:      st,
		Region:    x.Config.Region,
		AccountID: x.Config.AccountID,
		Log:       log,
		Changed: func(stored int64) {
			if st.OverLimit(stored) {
				select {
				case over <- struct{}{}:
				default:
				}
			}
		},
	})
	x.Mux.Add(api.Service())
	x.Gate.Register(logsapi.TargetPrefix, auth.Rules{
		SigningName:  "logs",
		ActionPrefix: "logs",
		Resources:    api.Resources,
		Agent:        logsapi.NewAgentRule(x.Store).Authorize,
		// Agents ship batches as fast as containers write; the size limit,
		// not a request rate, bounds what they can cost.
		Unlimited: map[string]bool{"PutLogEvents": true},
	})
	x.Background(func(ctx context.Context) {
		defer st.Close()
		tick := time.NewTicker(logMaintenance)
		defer tick.Stop()
		for {
			if _, err := st.Maintain(); err != nil {
				log.Warn("log store maintenance failed; will retry", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			case <-over:
			}
		}
	})
	return nil
}
