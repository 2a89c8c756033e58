package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/events"
	"github.com/wharf-ecs/wharf/internal/server"
)

// End-to-end tests of events: a task run by a simulated agent appears on
// the /events stream and at a webhook as EventBridge's ECS events.

// obsServer runs a server with webhooks until the test ends.
func obsServer(t *testing.T, webhooks ...string) *server.Server {
	t.Helper()
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(),
		Credentials: ecstest.RootCredentials(), EventWebhooks: webhooks})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	})
	obsWait(t, 10*time.Second, "the server answers", func() bool {
		resp, err := http.Get(srv.URL() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return srv
}

// stream reads /events: it returns once the stream is connected, and hands
// every event to the returned channel until the test ends.
func stream(t *testing.T, url string) <-chan events.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/events", nil)
	ecstest.Sign(t, req, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /events = %s (%s) %s", resp.Status, resp.Header.Get("Content-Type"), b)
	}
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || line != ": connected\n" {
		t.Fatalf("stream begins %q, %v; want \": connected\"", line, err)
	}
	out := make(chan events.Event, 1000)
	go func() {
		defer resp.Body.Close()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var e events.Event
				if err := json.Unmarshal([]byte(data), &e); err != nil {
					t.Errorf("stream data %q: %v", data, err)
					return
				}
				out <- e
			}
		}
	}()
	return out
}

// taskStatuses collects, from events, the lastStatus of each Task State
// Change of task arn, leaving out repeats, until it sees STOPPED.
func taskStatuses(t *testing.T, ch <-chan events.Event, arn string) []string {
	t.Helper()
	var got []string
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e := <-ch:
			if e.DetailType != events.TaskStateChange || len(e.Resources) != 1 || e.Resources[0] != arn {
				continue
			}
			checkEnvelope(t, e)
			var d struct {
				TaskArn    string `json:"taskArn"`
				LastStatus string `json:"lastStatus"`
				UpdatedAt  string `json:"updatedAt"`
				CreatedAt  string `json:"createdAt"`
				Version    int64  `json:"version"`
			}
			if err := json.Unmarshal(e.Detail, &d); err != nil || d.TaskArn != arn || d.UpdatedAt == "" || d.Version < 1 {
				t.Errorf("task event detail %s (%v); want the task with updatedAt and version", e.Detail, err)
			}
			if _, err := time.Parse(time.RFC3339, d.CreatedAt); err != nil {
				t.Errorf("detail createdAt %q is not an ISO 8601 time: %v", d.CreatedAt, err)
			}
			if len(got) == 0 || got[len(got)-1] != d.LastStatus {
				got = append(got, d.LastStatus)
			}
			if d.LastStatus == "STOPPED" {
				return got
			}
		case <-timeout:
			t.Fatalf("no STOPPED event of %s within 20s; saw %v", arn, got)
		}
	}
}

func checkEnvelope(t *testing.T, e events.Event) {
	t.Helper()
	if e.Version != "0" || e.Source != "aws.ecs" || e.Account != "123456789012" || e.Region != "us-east-1" || e.ID == "" {
		t.Errorf("event envelope %+v; want version 0, source aws.ecs, the account and region, an id", e)
	}
	if _, err := time.Parse(time.RFC3339, e.Time); err != nil {
		t.Errorf("event time %q: %v", e.Time, err)
	}
}

func TestEventsStreamAndWebhookSeeATaskRunAndStop(t *testing.T) {
	var mu sync.Mutex
	var hooked []events.Event
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e events.Event
		if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		hooked = append(hooked, e)
		mu.Unlock()
	}))
	defer hook.Close()
	srv := obsServer(t, hook.URL)
	ch := stream(t, srv.URL())
	obsAgent(t, srv.URL(), "default")
	c := ecstest.NewClient(srv.URL())
	ctx := context.Background()
	td := obsTaskDef(t, c, "evt", "0.1", "0.1")
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{TaskDefinition: aws.String(td)})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v %+v", err, out)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	obsWait(t, 10*time.Second, "the task runs", func() bool {
		d, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{arn}})
		return err == nil && len(d.Tasks) == 1 && aws.ToString(d.Tasks[0].LastStatus) == "RUNNING"
	})
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Task: aws.String(arn), Reason: aws.String("done")}); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	want := []string{"PENDING", "RUNNING", "STOPPED"}
	if got := taskStatuses(t, ch, arn); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("task events on /events went %v; want %v", got, want)
	}

	// The webhook gets the same events, in the same order.
	obsWait(t, 10*time.Second, "the webhook has the STOPPED event", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range hooked {
			if e.DetailType == events.TaskStateChange && strings.Contains(string(e.Detail), `"lastStatus":"STOPPED"`) {
				return true
			}
		}
		return false
	})
	mu.Lock()
	ch2 := make(chan events.Event, len(hooked))
	sawInstance := false
	for _, e := range hooked {
		ch2 <- e
		sawInstance = sawInstance || e.DetailType == events.InstanceStateChange
	}
	mu.Unlock()
	if got := taskStatuses(t, ch2, arn); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("task events at the webhook went %v; want %v", got, want)
	}
	if !sawInstance {
		t.Errorf("the webhook got no Container Instance State Change (the instance registered and its resources changed)")
	}
}

func TestEventsOfOtherClustersAreFilteredOut(t *testing.T) {
	srv := obsServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL()+"/events?cluster=blue", nil)
	req.SetBasicAuth(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	_, _ = r.ReadString('\n') // ": connected"
	obsAgent(t, srv.URL(), "green")
	obsAgent(t, srv.URL(), "blue")
	got := make(chan string, 10)
	go func() {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				got <- data
			}
		}
	}()
	select {
	case data := <-got:
		if !strings.Contains(data, ":cluster/blue") || strings.Contains(data, ":cluster/green") {
			t.Errorf("event on a stream of cluster blue: %s", data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event of cluster blue within 10s")
	}
}
