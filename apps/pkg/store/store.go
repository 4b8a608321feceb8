// Package store is a service's own state, behind its sidecar: reads, and the
// one door for every write.
//
// A write is a Change: the keys it reads and a pure decision over what they
// hold, which returns the change's result, the writes (each asserting the
// ETag its key was read with) and the events they cause. Apply runs one;
// ApplyAll runs the changes of one delivery. Either way the change goes
// through the same path, told in order in apply.go:
//
//	read the keys -> decide -> commit the writes and the events' outbox
//	records in one transaction -> answer -> publish the events -> delete
//	their records
//
// How concurrent changes share reads, transactions and publishes (group
// commit) is this package's policy, never its callers': the outcome of a
// change is the same whether it ran alone or with others.
package store

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// Store is a service's state store with its outbox. Its zero value is not
// usable; make one with New, and run its background work with Run.
type Store struct {
	state sidecar.State
	log   *slog.Logger
	// queue feeds the committers while Run runs (see batch.go); running says
	// whether they do. Without them every change commits in its caller.
	queue   chan *submission
	running atomic.Bool
	stopped chan struct{} // closed once the committers have returned
	outbox  *outbox
}

// New returns the store over state, publishing events through pub.
func New(state sidecar.State, pub sidecar.Publisher, log *slog.Logger) *Store {
	return &Store{
		state:   state,
		log:     log,
		queue:   make(chan *submission, maxBatch),
		stopped: make(chan struct{}),
		outbox:  newOutbox(state, pub, log),
	}
}

// Get reads one key: an Item with no value (Found false) if it does not exist.
func (s *Store) Get(ctx context.Context, key string) (sidecar.Item, error) {
	return s.state.Get(ctx, key)
}

// GetBulk reads keys in one call, in the order given.
func (s *Store) GetBulk(ctx context.Context, keys []string) ([]sidecar.Item, error) {
	return s.state.GetBulk(ctx, keys)
}

// Query runs a Dapr state query and returns a page of items and the next
// page's token ("" on the last).
func (s *Store) Query(ctx context.Context, query string) ([]sidecar.Item, string, error) {
	return s.state.Query(ctx, query)
}

// Settings of the background work.
type Settings struct {
	// RelayInterval is how often events that could not be published are
	// tried again.
	RelayInterval time.Duration
}

// Run does the store's background work until ctx ends: the committers that
// group concurrent changes, the publishers that send committed events, the
// cleanup of published events' records and the relay of those left behind
// (by a failed publish, or by a process that died between commit and
// publish). When ctx ends it answers what is queued, publishes what was
// committed, and returns once all of it is done.
func (s *Store) Run(ctx context.Context, cfg Settings) {
	// The outbox first, so that every commit from now on hands its events
	// to the publishers.
	outboxCtx, stopOutbox := context.WithCancel(context.WithoutCancel(ctx))
	s.outbox.running.Store(true)
	var ob sync.WaitGroup
	ob.Go(func() { s.outbox.run(outboxCtx, cfg.RelayInterval) })
	var wg sync.WaitGroup
	commitCtx, stopCommitters := context.WithCancel(context.WithoutCancel(ctx))
	for range committers {
		wg.Go(func() { s.commitBatches(commitCtx) })
	}
	s.running.Store(true)

	<-ctx.Done()
	// Committers first (changes submitted from now on commit in their
	// callers), then the outbox, so that what they committed is published.
	s.running.Store(false)
	stopCommitters()
	wg.Wait()
	close(s.stopped)
	stopOutbox()
	ob.Wait()
}
