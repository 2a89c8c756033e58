// Package events turns changes in the store into Amazon ECS events in the
// shape EventBridge delivers them ("ECS Task State Change", "ECS Container
// Instance State Change", "ECS Service Action", "ECS Deployment State
// Change") and hands them to subscribers (the server's /events stream of
// server-sent events) and webhooks.
//
// A Bus follows the tasks, container instances and services in the store and
// compares each change with what it remembers of the key: a task or instance
// whose document changed makes a state change event with the whole resource
// as detail; a service makes a Service Action for each new service event
// that is one (steady state, tasks stopped, placement failure, start
// impaired) and a Deployment State Change for each deployment whose rollout
// state moved. After a broken watch the bus lists again and sends what
// differs, so intermediate states may be skipped but the latest one is
// always sent.
//
// Nothing a subscriber or webhook does can hold the store's watch up: each
// has a bounded queue. A stream subscriber that falls behind is closed (it
// reconnects with Last-Event-ID and catches up from the bus's history); a
// webhook that falls behind loses its oldest undelivered events, counted in
// Stats.
package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharf-ecs/wharf/internal/state"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Event is one ECS event as EventBridge delivers it.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`

	// Seq numbers the bus's events from 1, for Last-Event-ID; Cluster is
	// the cluster's name, for filters. Neither is in the JSON.
	Seq     uint64 `json:"-"`
	Cluster string `json:"-"`

	// A task or instance event's detail is made from its document only
	// when first asked for (most events are never read: nobody may be
	// subscribed), so until JSON is called Detail and Resources of such
	// an event are empty.
	r *rendering
}

// rendering is an event's encoding, made once, and for a resource's state
// change event what its detail is made from.
type rendering struct {
	once sync.Once
	src  *source
	raw  []byte
}

// source is what a resource's state change event is rendered from.
type source struct {
	kind       resourceKind
	doc        []byte
	clusterArn string
	at         time.Time
}

// JSON is the event as EventBridge delivers it. It also fills Detail and
// Resources of an event not rendered yet.
func (e *Event) JSON() []byte {
	if e.r == nil {
		b, _ := json.Marshal(e)
		return b
	}
	e.r.once.Do(func() {
		if src := e.r.src; src != nil {
			e.Detail, e.Resources = src.kind.render(src.doc, src.at, src.clusterArn)
		}
		e.r.src = nil
		e.r.raw, _ = json.Marshal(e)
	})
	return e.r.raw
}

// Config configures a Bus.
type Config struct {
	Store     store.Store
	Region    string
	AccountID string
	Log       *slog.Logger
	Now       func() time.Time // nil: time.Now
	// History is how many recent events a reconnecting subscriber can
	// catch up on (default 1000).
	History int
	// Webhooks are URLs each event is POSTed to, as JSON.
	Webhooks []string
	// WebhookQueue bounds each webhook's undelivered events (default 1000).
	WebhookQueue int
	// HTTPClient posts to webhooks (default: a client with a 10s timeout).
	HTTPClient *http.Client
}

// Bus derives events from the store and fans them out.
type Bus struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	seq     uint64
	history []*Event // ring, the last cfg.History events
	subs    map[*Subscription]struct{}
	closed  bool
	// What the followers remember, by store key.
	tasks     map[string]uint64
	instances map[string]uint64
	services  map[string]serviceMemory
	loaded    map[string]bool // prefixes listed once already

	idPrefix  string // the random half of event ids
	hooks     []*webhook
	published atomic.Uint64
	lagged    atomic.Uint64 // subscribers closed for falling behind
}

// New returns a bus; Run starts it.
func New(cfg Config) *Bus {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.History <= 0 {
		cfg.History = 1000
	}
	if cfg.WebhookQueue <= 0 {
		cfg.WebhookQueue = 1000
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	b := &Bus{cfg: cfg, log: cfg.Log, now: cfg.Now, subs: map[*Subscription]struct{}{},
		tasks: map[string]uint64{}, instances: map[string]uint64{}, services: map[string]serviceMemory{},
		loaded: map[string]bool{}}
	var r [8]byte
	_, _ = rand.Read(r[:])
	h := hex.EncodeToString(r[:])
	b.idPrefix = h[0:8] + "-" + h[8:12] + "-4" + h[13:16] // version 4, variant in eventID
	for _, u := range cfg.Webhooks {
		b.hooks = append(b.hooks, newWebhook(u, cfg.WebhookQueue, cfg.HTTPClient, cfg.Log))
	}
	return b
}

// Run follows the store and delivers to webhooks until ctx ends.
func (b *Bus) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, h := range b.hooks {
		wg.Add(1)
		go func() { defer wg.Done(); h.run(ctx) }()
	}
	for _, prefix := range []string{state.TasksPrefix, state.InstancesPrefix, state.ServicesPrefix} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			state.Follow(ctx, b.cfg.Store, b.log, prefix,
				func(kvs []store.KV, _ int64) { b.load(prefix, kvs) },
				func(ev store.Event) { b.apply(prefix, ev) })
		}()
	}
	wg.Wait()
}

// load takes a listing of prefix: the first one is remembered silently,
// later ones (after a broken watch) send what changed meanwhile.
func (b *Bus) load(prefix string, kvs []store.KV) {
	b.mu.Lock()
	defer b.mu.Unlock()
	quiet := !b.loaded[prefix]
	b.loaded[prefix] = true
	present := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		present[kv.Key] = true
		b.changeLocked(prefix, kv.Key, kv.Value, quiet)
	}
	b.forgetMissingLocked(prefix, present)
}

func (b *Bus) forgetMissingLocked(prefix string, present map[string]bool) {
	switch prefix {
	case state.TasksPrefix:
		for k := range b.tasks {
			if !present[k] {
				delete(b.tasks, k)
			}
		}
	case state.InstancesPrefix:
		for k := range b.instances {
			if !present[k] {
				delete(b.instances, k)
			}
		}
	case state.ServicesPrefix:
		for k := range b.services {
			if !present[k] {
				delete(b.services, k)
			}
		}
	}
}

func (b *Bus) apply(prefix string, ev store.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ev.Type == store.EventDelete {
		delete(b.tasks, ev.KV.Key)
		delete(b.instances, ev.KV.Key)
		delete(b.services, ev.KV.Key)
		return
	}
	b.changeLocked(prefix, ev.KV.Key, ev.KV.Value, false)
}

// changeLocked compares key's new document with what is remembered of it,
// publishes the events of the change unless quiet, and remembers the new
// state.
func (b *Bus) changeLocked(prefix, key string, doc []byte, quiet bool) {
	now := b.now()
	cluster := clusterOf(prefix, key)
	switch prefix {
	case state.TasksPrefix, state.InstancesPrefix:
		mem, kind := b.tasks, taskKind
		if prefix == state.InstancesPrefix {
			mem, kind = b.instances, instanceKind
		}
		sum := digest(doc)
		old, known := mem[key]
		mem[key] = sum
		if quiet || (known && old == sum) {
			return
		}
		arn := "arn:aws:ecs:" + b.cfg.Region + ":" + b.cfg.AccountID + ":cluster/" + cluster
		b.publishLocked(draft{detailType: kind.detailType, cluster: cluster,
			src: &source{kind: kind, doc: doc, clusterArn: arn, at: now}}, now)
	case state.ServicesPrefix:
		var svc state.Service
		if err := json.Unmarshal(doc, &svc); err != nil {
			b.log.Warn("undecodable service document", "key", key, "err", err)
			return
		}
		var old *serviceMemory
		if m, ok := b.services[key]; ok {
			old = &m
		}
		b.services[key] = rememberService(&svc)
		if quiet {
			return
		}
		for _, d := range serviceEvents(old, &svc, now) {
			b.publishLocked(d, now)
		}
	}
}

func clusterOf(prefix, key string) string {
	rest := key[len(prefix):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			return rest[:i]
		}
	}
	return rest
}

// publishLocked numbers the event, keeps it in the history and hands it to
// every subscriber and webhook without waiting for any.
func (b *Bus) publishLocked(d draft, now time.Time) {
	b.seq++
	e := &Event{Version: "0", ID: b.eventID(b.seq), DetailType: d.detailType, Source: "aws.ecs",
		Account: b.cfg.AccountID, Time: now.UTC().Format(time.RFC3339), Region: b.cfg.Region,
		Resources: d.resources, Detail: d.detail, Seq: b.seq, Cluster: d.cluster, r: &rendering{src: d.src}}
	if len(b.history) < b.cfg.History {
		b.history = append(b.history, e)
	} else {
		b.history[int((e.Seq-1)%uint64(b.cfg.History))] = e
	}
	b.published.Add(1)
	for s := range b.subs {
		if s.cluster != "" && s.cluster != e.Cluster {
			continue
		}
		select {
		case s.ch <- e:
		default:
			// Too far behind: end the stream rather than wait or skip
			// silently; the client resumes from the history.
			b.lagged.Add(1)
			delete(b.subs, s)
			close(s.ch)
		}
	}
	for _, h := range b.hooks {
		h.enqueue(e)
	}
}

// eventID is the event's id: a UUID whose first half is random per bus
// and whose second half is the sequence number, unique without drawing
// random bytes per event.
func (b *Bus) eventID(seq uint64) string {
	return fmt.Sprintf("%s-%04x-%012x", b.idPrefix, (seq>>48)|0x8000, seq&(1<<48-1))
}

// Subscription receives the bus's events on C until it is closed (by
// Unsubscribe, Close, or for falling behind).
type Subscription struct {
	C       <-chan *Event
	ch      chan *Event
	cluster string
}

// subscriberQueue is how many events a subscriber may have unread.
const subscriberQueue = 512

// Subscribe returns a subscription to the events of cluster ("" for all),
// and the events of the history after seq after (0: none) that it would
// have had. gap says some events after after are no longer in the history.
func (b *Bus) Subscribe(cluster string, after uint64) (s *Subscription, backlog []*Event, gap bool) {
	ch := make(chan *Event, subscriberQueue)
	s = &Subscription{C: ch, ch: ch, cluster: cluster}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		close(ch)
		return s, nil, false
	}
	b.subs[s] = struct{}{}
	if after == 0 || after >= b.seq {
		return s, nil, false
	}
	oldest := b.seq - uint64(len(b.history)) + 1
	gap = after+1 < oldest
	for q := max(after+1, oldest); q <= b.seq; q++ {
		e := b.history[int((q-1)%uint64(b.cfg.History))]
		if cluster == "" || e.Cluster == cluster {
			backlog = append(backlog, e)
		}
	}
	return s, backlog, gap
}

// Unsubscribe ends s.
func (b *Bus) Unsubscribe(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.ch)
	}
}

// Close ends every subscription (the server is shutting down) and refuses
// new ones.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		close(s.ch)
	}
}

// Stats counts the bus's work since it started.
type Stats struct {
	Published   uint64 // events derived
	Lagged      uint64 // stream subscribers closed for falling behind
	Subscribers int    // streams open now
	Delivered   uint64 // webhook POSTs that succeeded
	Failed      uint64 // events a webhook refused or that failed every retry
	Overflowed  uint64 // events dropped from a full webhook queue
	Queued      int    // events waiting for webhooks now
}

// Stats reports the bus's counts.
func (b *Bus) Stats() Stats {
	b.mu.Lock()
	s := Stats{Published: b.published.Load(), Lagged: b.lagged.Load(), Subscribers: len(b.subs)}
	b.mu.Unlock()
	for _, h := range b.hooks {
		s.Delivered += h.delivered.Load()
		s.Failed += h.failed.Load()
		s.Overflowed += h.overflowed.Load()
		s.Queued += len(h.queue)
	}
	return s
}
