//go:build linux

package ha

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
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

// ack is an acknowledged RunTask: its clientToken (also its startedBy, so
// that a task can be traced to the one call that asked for it) and task.
type ack struct{ token, arn string }

// burst calls RunTask from two workers per client, each call with its own
// token under prefix, until at least until calls are acknowledged; then it
// calls kill and returns what was acknowledged before the workers noticed.
func burst(t *testing.T, clients []*ecs.Client, cluster, prefix string, until int, kill func()) []ack {
	t.Helper()
	ctx := context.Background()
	var (
		mu    sync.Mutex
		acked []ack
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
				acked = append(acked, ack{token, aws.ToString(out.Tasks[0].TaskArn)})
				mu.Unlock()
			}
		}()
	}
	waitFor(t, 30*time.Second, "the burst under way", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= until
	})
	kill()
	close(stop)
	wg.Wait()
	return acked
}

// checkExactlyOnce: every acknowledged call has exactly its task, and no
// call of the burst has two.
func checkExactlyOnce(t *testing.T, cl *ecs.Client, cluster, prefix string, acked []ack) {
	t.Helper()
	byToken := map[string][]ecstypes.Task{}
	for _, desired := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		for _, task := range listTasks(t, cl, cluster, desired) {
			if by := aws.ToString(task.StartedBy); strings.HasPrefix(by, prefix+"-") {
				byToken[by] = append(byToken[by], task)
			}
		}
	}
	for token, tasks := range byToken {
		if len(tasks) > 1 {
			t.Errorf("call %s has %d tasks; want at most one", token, len(tasks))
		}
	}
	for _, a := range acked {
		if tasks := byToken[a.token]; len(tasks) != 1 || aws.ToString(tasks[0].TaskArn) != a.arn {
			t.Errorf("acknowledged call %s (task %s) has tasks %v after the restart; want exactly its task", a.token, a.arn, arns(tasks))
		}
	}
	t.Logf("%d calls acknowledged before every server was killed; each has exactly its task", len(acked))
}
