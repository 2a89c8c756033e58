// Package ecsapi implements the Amazon ECS API operations on Wharf's store.
// One file per resource group; validation lives beside the operation it guards.
package ecsapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/wharf-ecs/wharf/internal/awsproto"
	"github.com/wharf-ecs/wharf/internal/keyring"
	"github.com/wharf-ecs/wharf/internal/model"
	"github.com/wharf-ecs/wharf/internal/store"
)

// Config is what the API needs from its surroundings.
type Config struct {
	Store     store.Store
	Region    string // e.g. us-east-1
	AccountID string // 12 digits, e.g. 123456789012
	Log       *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Keyring derives agent credentials; without it agents cannot join
	// with a token.
	Keyring *keyring.Keyring
	// MaxStopTimeout is the largest containerDefinitions stopTimeout, in
	// seconds, that RegisterTaskDefinition accepts; 0 means ECS's 120.
	MaxStopTimeout int32
	// Secrets resolves task definition secrets for the agents; nil fails
	// the tasks that have secrets with a message saying so.
	Secrets SecretResolver
	// AgentTimeout is how long an agent may go unheard before its instance
	// is judged disconnected. An agent is heard when its poll begins, so
	// polls are held at most a third of it; 0 leaves them at what agents
	// ask for (at most a minute).
	AgentTimeout time.Duration
}

// API serves the ECS operations.
type API struct {
	st        store.Store
	arns      ARNs
	log       *slog.Logger
	now       func() time.Time
	service   *awsproto.Service
	index     *taskIndex
	instances *instanceCache
	placers   placers
	obs       observers // metrics: agents' usage samples, placement counts
	// runCtx is Run's context: background work such as the placement
	// workers lives as long as it.
	runCtx atomic.Pointer[context.Context]
	beats  heartbeats
	// stopping ends when the server shuts down, ending long polls.
	stopping context.Context
	stop     context.CancelFunc
	keyring  *keyring.Keyring
	maxStop  int32
	waiting  waitingQueue
	images   imageCache
	secrets  SecretResolver
	maxWait  time.Duration // the longest a poll is held
}

// New returns the ECS API with every implemented operation registered.
func New(cfg Config) *API {
	a := &API{
		st:      cfg.Store,
		arns:    ARNs{Region: cfg.Region, Account: cfg.AccountID},
		log:     cfg.Log,
		now:     cfg.Now,
		keyring: cfg.Keyring,
		maxStop: cfg.MaxStopTimeout,
		secrets: cfg.Secrets,
		maxWait: maxPollWait,
	}
	if cfg.AgentTimeout > 0 {
		a.maxWait = min(maxPollWait, cfg.AgentTimeout/3)
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.index = newTaskIndex(cfg.Store, a.log.With("component", "taskindex"))
	a.instances = newInstanceCache(cfg.Store, a.log.With("component", "instancecache"))
	a.stopping, a.stop = context.WithCancel(context.Background())
	s := awsproto.NewService(model.TargetPrefix, model.Operations)
	a.registerClusters(s)
	a.registerCapacityProviders(s)
	a.registerTaskDefinitions(s)
	a.registerContainerInstances(s)
	a.registerAttributes(s)
	a.registerTasks(s)
	a.registerServices(s)
	a.registerTags(s)
	a.registerAccountSettings(s)
	a.registerAgent(s)
	a.service = s
	return a
}

// Shutdown ends the long polls in flight so the HTTP server can drain.
func (a *API) Shutdown() { a.stop() }

// Service returns the dispatcher to mount on an awsproto.Mux.
func (a *API) Service() *awsproto.Service { return a.service }

// ARNs returns the ARN builder the API uses.
func (a *API) ARNs() ARNs { return a.arns }

func (a *API) timeNow() *model.Time { return model.NewTime(a.now()) }

// newID returns a 32-hex-digit identifier, the form ECS uses for task and
// container instance IDs.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newUUID returns a random UUID (container ARNs, deployment IDs, event IDs).
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// maxRetries bounds read-modify-write loops that lose optimistic races.
const maxRetries = 32

// retry runs fn until it returns something other than a store conflict, at
// most maxRetries times. fn must re-read what it depends on each time.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for i := 0; i < maxRetries; i++ {
		err = fn()
		if !store.IsConflict(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return errServer("the request lost %d races with concurrent writers; retry it", maxRetries)
}

// bgCtx is the context of the API's background work.
func (a *API) bgCtx() context.Context {
	if c := a.runCtx.Load(); c != nil {
		return *c
	}
	return context.Background()
}
