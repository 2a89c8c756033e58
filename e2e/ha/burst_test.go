//go:build linux

package ha

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// probe asks servers about themselves. A killed container's address does
// not refuse connections, it swallows them: the timeout matters.
var probe = &http.Client{Timeout: time.Second}

// leads says whether the server at url answers that it leads.
func leads(url string) bool {
	resp, err := probe.Get(url + "/leader")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var out struct {
		Leading bool `json:"leading"`
	}
	return json.NewDecoder(resp.Body).Decode(&out) == nil && out.Leading
}

// healthy says whether the server at url answers /healthz with 200.
func healthy(url string) bool {
	resp, err := probe.Get(url + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// burst calls RunTask from two workers per client, each call with its own
// clientToken under prefix, also its startedBy (so that the history traces
// a task to the one call that asked for it), until at least until calls
// are acknowledged; then it calls kill and returns how many were
// acknowledged before the workers noticed.
func burst(t *testing.T, clients []*ecs.Client, cluster, prefix string, until int, kill func()) int {
	t.Helper()
	ctx := context.Background()
	var (
		mu    sync.Mutex
		acked int
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 2 * len(clients) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := clients[w%len(clients)]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				token := fmt.Sprintf("%s-%d-%d", prefix, w, i)
				out, err := cl.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("app"),
					ClientToken: aws.String(token), StartedBy: aws.String(token)})
				if err != nil {
					continue // unacknowledged: may or may not exist, but at most once
				}
				if len(out.Tasks) != 1 {
					t.Errorf("RunTask %s placed %d tasks (failures %v)", token, len(out.Tasks), out.Failures)
					continue
				}
				mu.Lock()
				acked++
				mu.Unlock()
			}
		}()
	}
	waitFor(t, 30*time.Second, "the burst under way", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return acked >= until
	})
	kill()
	close(stop)
	wg.Wait()
	return acked
}
