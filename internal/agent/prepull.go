package agent

import (
	"context"
	"slices"
	"sync"
	"time"
)

// prepuller fetches, one at a time in the background, the images of the
// cluster's active services that the host lacks, so their next tasks here
// start from a warm cache (Config.PrepullImages; beyond ECS). A failed pull
// is retried after prepullRetry.
type prepuller struct {
	a    *Agent
	mu   sync.Mutex
	want []string
	wake chan struct{}
	// Owned by run.
	have   map[string]bool
	failed map[string]time.Time
}

const prepullRetry = 5 * time.Minute

func newPrepuller(a *Agent) *prepuller {
	return &prepuller{a: a, wake: make(chan struct{}, 1), have: map[string]bool{}, failed: map[string]time.Time{}}
}

// set hands the prepuller the latest image list.
func (p *prepuller) set(images []string) {
	p.mu.Lock()
	changed := !slices.Equal(p.want, images)
	p.want = slices.Clone(images)
	p.mu.Unlock()
	if changed {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

func (p *prepuller) run(ctx context.Context) {
	retry := time.NewTicker(prepullRetry)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-retry.C:
		}
		p.mu.Lock()
		want := slices.Clone(p.want)
		p.mu.Unlock()
		for _, img := range want {
			if ctx.Err() != nil {
				return
			}
			if p.have[img] || time.Since(p.failed[img]) < prepullRetry {
				continue
			}
			ok, err := p.a.rt.ImageExists(ctx, img)
			if err == nil && ok {
				p.have[img] = true
				continue
			}
			p.a.log.Info("pre-pulling a service image", "image", img)
			start := time.Now()
			if err := p.a.rt.Pull(ctx, img); err != nil {
				p.failed[img] = time.Now()
				p.a.log.Warn("pre-pull failed; will retry", "image", img, "err", err, "retry_in", prepullRetry)
				continue
			}
			p.have[img] = true
			delete(p.failed, img)
			p.a.log.Info("pre-pulled a service image", "image", img, "took", time.Since(start).Round(time.Millisecond))
		}
	}
}
