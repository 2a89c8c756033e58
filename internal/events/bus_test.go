package events

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
	"github.com/wharf-ecs/wharf/internal/store/bolt"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "wharf.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// startBus runs a bus on st until the test ends, once it has listed.
func startBus(t *testing.T, cfg Config) *Bus {
	t.Helper()
	cfg.Region, cfg.AccountID = "us-east-1", "123456789012"
	b := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		n := len(b.loaded)
		b.mu.Unlock()
		if n == 3 {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatal("bus did not list the store within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func putTask(t *testing.T, st store.Store, id, status string) {
	t.Helper()
	task := state.Task{Task: model.Task{TaskArn: "arn:aws:ecs:us-east-1:123456789012:task/c1/" + id,
		LastStatus: status, DesiredStatus: "RUNNING"}}
	if _, err := st.Commit(context.Background(), store.Txn{Ops: []store.Op{state.Put(state.TaskKey("c1", id), task)}}); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, s *Subscription) *Event {
	t.Helper()
	select {
	case e, ok := <-s.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		e.JSON() // renders the detail
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return nil
}

func lastStatus(t *testing.T, e *Event) string {
	t.Helper()
	var d struct {
		LastStatus string `json:"lastStatus"`
	}
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		t.Fatal(err)
	}
	return d.LastStatus
}

func TestBusSendsEachTaskChangeOnceInOrder(t *testing.T) {
	st := openStore(t)
	putTask(t, st, "old", "RUNNING") // before the bus: remembered, not sent
	b := startBus(t, Config{Store: st})
	sub, backlog, _ := b.Subscribe("", 0)
	defer b.Unsubscribe(sub)
	if len(backlog) != 0 {
		t.Fatalf("backlog of a fresh subscription = %d events; want none", len(backlog))
	}
	putTask(t, st, "t1", "PENDING")
	putTask(t, st, "t1", "RUNNING")
	putTask(t, st, "t1", "RUNNING") // rewritten unchanged: no event
	putTask(t, st, "t1", "STOPPED")
	var got []string
	ids := map[string]bool{}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for range 3 {
		e := next(t, sub)
		if !uuid.MatchString(e.ID) || ids[e.ID] {
			t.Errorf("event id %q is not a fresh version 4 UUID", e.ID)
		}
		ids[e.ID] = true
		got = append(got, lastStatus(t, e))
		if e.Source != "aws.ecs" || e.DetailType != TaskStateChange || e.Version != "0" || e.Account != "123456789012" ||
			e.Region != "us-east-1" || e.Cluster != "c1" || len(e.Resources) != 1 || e.ID == "" {
			t.Errorf("event envelope = %+v; want an aws.ecs task state change in c1", e)
		}
	}
	if want := []string{"PENDING", "RUNNING", "STOPPED"}; !slices.Equal(got, want) {
		t.Errorf("task events = %v; want %v", got, want)
	}
	select {
	case e := <-sub.C:
		t.Errorf("extra event %s (lastStatus %s)", e.DetailType, lastStatus(t, e))
	case <-time.After(200 * time.Millisecond):
	}
}

func TestSubscribeCatchesUpFromHistoryAndSaysWhenItCannot(t *testing.T) {
	b := New(Config{History: 2})
	b.mu.Lock()
	for range 4 {
		b.publishLocked(draft{detailType: TaskStateChange, cluster: "c1", detail: []byte("{}")}, at)
	}
	b.mu.Unlock()
	_, backlog, gap := b.Subscribe("", 2)
	if gap || len(backlog) != 2 || backlog[0].Seq != 3 || backlog[1].Seq != 4 {
		t.Errorf("Subscribe(after 2) with events 3-4 kept = %d events, gap %v; want 3 and 4, no gap", len(backlog), gap)
	}
	_, backlog, gap = b.Subscribe("", 1)
	if !gap || len(backlog) != 2 {
		t.Errorf("Subscribe(after 1) with event 2 forgotten = %d events, gap %v; want 2 events and a gap", len(backlog), gap)
	}
	_, backlog, _ = b.Subscribe("other", 1)
	if len(backlog) != 0 {
		t.Errorf("backlog for another cluster = %d events; want none", len(backlog))
	}
}

func TestASubscriberThatFallsBehindIsClosedNotWaitedFor(t *testing.T) {
	b := New(Config{})
	slow, _, _ := b.Subscribe("", 0)
	done := make(chan struct{})
	go func() {
		b.mu.Lock()
		for range subscriberQueue + 10 {
			b.publishLocked(draft{detailType: TaskStateChange, detail: []byte("{}")}, at)
		}
		b.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("publishing waited for a subscriber that reads nothing")
	}
	n := 0
	for range slow.C {
		n++
	}
	if n != subscriberQueue || b.Stats().Lagged != 1 {
		t.Errorf("slow subscriber got %d events before its channel closed, lagged %d; want %d and 1", n, b.Stats().Lagged, subscriberQueue)
	}
}

func TestWebhookRetriesFailuresInOrderAndGivesUpOnRefusals(t *testing.T) {
	var mu sync.Mutex
	var got []string
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var e Event
		if err := json.Unmarshal(body, &e); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook body %q (%s): %v", body, r.Header.Get("Content-Type"), err)
		}
		if string(e.Detail) == `{"refuse":true}` {
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		got = append(got, string(e.Detail))
	}))
	defer srv.Close()
	b := New(Config{Webhooks: []string{srv.URL}, HTTPClient: srv.Client()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.hooks[0].run(ctx)
	b.mu.Lock()
	for _, d := range []string{`{"n":1}`, `{"refuse":true}`, `{"n":2}`} {
		b.publishLocked(draft{detailType: TaskStateChange, detail: []byte(d)}, at)
	}
	b.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for b.Stats().Delivered+b.Stats().Failed < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if s := b.Stats(); !slices.Equal(got, []string{`{"n":1}`, `{"n":2}`}) || s.Delivered != 2 || s.Failed != 1 || calls != 5 {
		t.Errorf("webhook got %v in %d calls, stats %+v; want n:1 then n:2 after two 503s, the refused one given up", got, calls, s)
	}
}

func TestAFullWebhookQueueDropsTheOldest(t *testing.T) {
	b := New(Config{Webhooks: []string{"http://127.0.0.1:1/"}, WebhookQueue: 2})
	b.mu.Lock()
	for range 5 {
		b.publishLocked(draft{detailType: TaskStateChange, detail: []byte("{}")}, at)
	}
	b.mu.Unlock()
	h := b.hooks[0]
	first, second := <-h.queue, <-h.queue
	if s := b.Stats(); s.Overflowed != 3 || first.Seq != 4 || second.Seq != 5 {
		t.Errorf("queue of 2 after 5 events holds %d and %d, overflowed %d; want 4 and 5, 3", first.Seq, second.Seq, s.Overflowed)
	}
}
