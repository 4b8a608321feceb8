package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// Outbox saves a state change and the events it causes in one transaction,
// then publishes the events at once. If the process dies between the commit
// and the publish (or the broker is down), the events wait in the store as
// outbox records, and Relay publishes them later. Either way an event is
// published at least once, with its deterministic id, and never without its
// state change.
//
// While Run runs, Commit returns as soon as the transaction is committed, and
// background publishers send the events, those of several commits in one call:
// a request does not wait for the broker to write its events to disk (JetStream
// syncs every message), only for the state store to commit them.
//
// Why not Dapr's own outbox (outboxPublishPubsub on the state store)? It holds
// every event for at least a second before publishing (a fixed scan delay in
// the runtime), gives it a random id that the broker cannot de-duplicate, and
// sends all of a store's events to a single topic. This one publishes
// immediately and keeps the event ids.
type Outbox struct {
	state   State
	pub     Publisher
	log     *slog.Logger
	deletes chan string
	// pending feeds the background publishers; background is set while Run
	// runs them (otherwise Commit publishes itself).
	pending    chan []events.Message
	background atomic.Bool

	mu sync.Mutex
	// unpublished are events this process committed but could not publish
	// (the broker down, a publish that timed out, a full queue): retried every
	// interval from memory, without reading the store.
	unpublished map[string]events.Message
}

// maxUnpublished bounds the events remembered for a retry; beyond it they
// wait in the store for the next scan.
const maxUnpublished = 100_000

// storeScanEvery is how often Run looks in the store for outbox records this
// process does not know of (another process's, one that died before it
// published them); it also looks once when it starts.
const storeScanEvery = time.Minute

// publishers is how many publish calls the background keeps in flight;
// publishBatch caps the events of one call.
const (
	publishers   = 4
	publishBatch = 256
)

// outboxKeyPrefix prefixes an outbox record's key; the rest is the event id.
const outboxKeyPrefix = "outbox|"

// outboxKind marks outbox records so that a state query can find them.
const outboxKind = "outbox"

type outboxRecord struct {
	Kind    string         `json:"kind"`
	Message events.Message `json:"message"`
	At      time.Time      `json:"at"`
}

// NewOutbox returns an outbox over state and pub. Run must be running for
// published records to be cleaned up.
func NewOutbox(state State, pub Publisher, log *slog.Logger) *Outbox {
	return &Outbox{state: state, pub: pub, log: log, deletes: make(chan string, 4096), pending: make(chan []events.Message, 4096),
		unpublished: map[string]events.Message{}}
}

// Commit applies ops and records msgs in one transaction, then publishes msgs.
// It fails only if the transaction fails (ErrConflict on a stale ETag): once it
// returns nil, the events will be published.
func (o *Outbox) Commit(ctx context.Context, ops []Op, msgs ...events.Message) error {
	now := time.Now().UTC()
	all := make([]Op, 0, len(ops)+len(msgs))
	all = append(all, ops...)
	for _, m := range msgs {
		all = append(all, Op{Key: outboxKeyPrefix + m.ID, Value: outboxRecord{Kind: outboxKind, Message: m, At: now}})
	}
	if err := o.state.Transact(ctx, all...); err != nil {
		return err
	}
	// Publish with a context that outlives a cancelled request: the state is
	// committed, so the event should go out now rather than wait for the relay.
	if len(msgs) == 0 {
		return nil
	}
	if o.background.Load() {
		select {
		case o.pending <- msgs:
		default: // the publishers are behind (the broker is down?): retried later
			o.remember(msgs)
		}
		return nil
	}
	pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	o.publish(pubCtx, msgs)
	return nil
}

// publishTimeout bounds one publish call; what it did not publish is retried.
const publishTimeout = 30 * time.Second

// remember keeps msgs for the next retry.
func (o *Outbox) remember(msgs []events.Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, m := range msgs {
		if len(o.unpublished) >= maxUnpublished {
			return
		}
		o.unpublished[m.ID] = m
	}
}

// retryUnpublished publishes what earlier publishes could not.
func (o *Outbox) retryUnpublished(ctx context.Context) {
	o.mu.Lock()
	if len(o.unpublished) == 0 {
		o.mu.Unlock()
		return
	}
	msgs := make([]events.Message, 0, len(o.unpublished))
	for _, m := range o.unpublished {
		msgs = append(msgs, m)
	}
	clear(o.unpublished)
	o.mu.Unlock()
	for chunk := range slices.Chunk(msgs, publishBatch) {
		pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		o.publish(pubCtx, chunk)
		cancel()
	}
}

// publishPending publishes what commits hand over, several commits' events
// per call, until ctx ends; then it publishes what is left (the relay would
// otherwise, in a few seconds).
func (o *Outbox) publishPending(ctx context.Context) {
	send := func(msgs []events.Message) {
		for len(msgs) < publishBatch {
			select {
			case more := <-o.pending:
				msgs = append(msgs, more...)
				continue
			default:
			}
			break
		}
		pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		o.publish(pubCtx, msgs)
		cancel()
	}
	for {
		select {
		case msgs := <-o.pending:
			send(msgs)
		case <-ctx.Done():
			for {
				select {
				case msgs := <-o.pending:
					send(msgs)
				default:
					return
				}
			}
		}
	}
}

// publish publishes msgs in one call and queues the deletion of the records
// of those that went out; those that did not are remembered for a retry. It
// reports whether all went out.
func (o *Outbox) publish(ctx context.Context, msgs []events.Message) bool {
	failed := map[string]bool{}
	if err := o.pub.Publish(ctx, msgs...); err != nil {
		var pe *PublishError
		if errors.As(err, &pe) {
			for _, id := range pe.Failed {
				failed[id] = true
			}
		} else {
			for _, m := range msgs {
				failed[m.ID] = true
			}
		}
		o.log.WarnContext(ctx, "publish failed; retrying", "events", len(msgs), "failed", len(failed), "first", msgs[0].ID, "err", err)
	}
	var retry []events.Message
	for _, m := range msgs {
		if failed[m.ID] {
			retry = append(retry, m)
			continue
		}
		select {
		case o.deletes <- outboxKeyPrefix + m.ID:
		default: // the cleaner is behind; the store scan will find and delete this record
		}
	}
	o.remember(retry)
	return len(retry) == 0
}

// deleteLinger is how long the first queued deletion waits for others to
// share its transaction; deleteBatch caps one transaction's deletions.
const (
	deleteLinger = 100 * time.Millisecond
	deleteBatch  = 256
)

// Run publishes what Commit hands over, deletes the records of published
// events in batches, retries every interval what could not be published, and
// relays the records older than minAge that this process does not know of
// (another's, or a crashed one's): once when it starts, then every
// storeScanEvery. It returns when ctx ends.
func (o *Outbox) Run(ctx context.Context, interval, minAge time.Duration) {
	var wg sync.WaitGroup
	for range publishers {
		wg.Go(func() { o.publishPending(ctx) })
	}
	o.background.Store(true)
	tick := time.NewTicker(interval)
	scan := time.NewTicker(storeScanEvery)
	defer scan.Stop()
	// What a process before this one left: every record older than this
	// process (none of them can be in the middle of being published by it),
	// tried again every interval until a scan succeeds with less than a page.
	started := time.Now()
	leftovers := func() bool {
		found, _, err := o.relayPage(ctx, started)
		return err != nil || found == relayPageSize
	}
	pending := leftovers()
	defer tick.Stop()
	batch := make([]Op, 0, deleteBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := o.state.Transact(context.WithoutCancel(ctx), batch...); err != nil {
			o.log.Warn("outbox cleanup failed; the relay will retry", "records", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	drain := func() {
		for len(batch) < cap(batch) {
			select {
			case key := <-o.deletes:
				batch = append(batch, Op{Key: key, Delete: true})
			default:
				return
			}
		}
	}
	// linger is armed by the first deletion of a batch: a burst of published
	// events costs one transaction, not one each.
	linger := time.NewTimer(deleteLinger)
	linger.Stop()
	for {
		select {
		case <-ctx.Done():
			// Shutting down: commits publish themselves from now on; the
			// publishers send what they were handed, then what is queued for
			// deletion is deleted. Records missed here are harmless; the relay
			// republishes them and the broker drops the duplicate by its id.
			o.background.Store(false)
			wg.Wait()
			for drain(); len(batch) > 0; drain() {
				flush()
			}
			return
		case key := <-o.deletes:
			if len(batch) == 0 {
				linger.Reset(deleteLinger)
			}
			batch = append(batch, Op{Key: key, Delete: true})
			if drain(); len(batch) == cap(batch) {
				linger.Stop()
				flush()
			}
		case <-linger.C:
			flush()
		case <-tick.C:
			o.retryUnpublished(ctx)
			if pending {
				pending = leftovers()
			}
		case <-scan.C:
			o.Relay(ctx, minAge)
		}
	}
}

// Relay publishes every outbox record older than minAge and queues its
// deletion. It returns the number of events it published.
func (o *Outbox) Relay(ctx context.Context, minAge time.Duration) int {
	return o.relayBefore(ctx, time.Now().Add(-minAge))
}

// relayPageSize is how many records one store scan reads.
const relayPageSize = 200

// relayBefore publishes the outbox records committed before cutoff.
func (o *Outbox) relayBefore(ctx context.Context, cutoff time.Time) int {
	_, published, _ := o.relayPage(ctx, cutoff)
	return published
}

// relayPage reads a page of outbox records, publishes those committed before
// cutoff, and returns how many records the page held and how many of them it
// published.
func (o *Outbox) relayPage(ctx context.Context, cutoff time.Time) (found, published int, err error) {
	query := `{"filter":{"EQ":{"kind":"` + outboxKind + `"}},"page":{"limit":` + strconv.Itoa(relayPageSize) + `}}`
	items, _, err := o.state.Query(ctx, query)
	if err != nil {
		o.log.Warn("outbox relay: query failed", "err", err)
		return 0, 0, err
	}
	var due []events.Message
	for _, it := range items {
		if !strings.Contains(it.Key, outboxKeyPrefix) {
			continue
		}
		var rec outboxRecord
		if err := json.Unmarshal(it.Value, &rec); err != nil || rec.Kind != outboxKind {
			continue
		}
		if rec.At.After(cutoff) {
			continue // probably being published right now by Commit
		}
		due = append(due, rec.Message)
		o.log.Info("outbox relay publishing a pending event", "event", rec.Message.ID, "age", time.Since(rec.At).Round(time.Millisecond))
	}
	if len(due) > 0 && o.publish(ctx, due) {
		published = len(due)
	}
	return len(items), published, nil
}
