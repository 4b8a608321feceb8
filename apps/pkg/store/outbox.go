package store

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
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/tracing"
)

// The outbox: a change's events are saved as records in the change's own
// transaction (commit, in apply.go), so an event is never published without
// its state change nor lost with it. Once committed, the events are handed
// to background publishers, those of several commits in one call: a request
// does not wait for the broker to store its events, only for the state store
// to commit them. A published event's record is deleted (in batches); one
// whose publish failed is retried from memory every relay interval; records
// that a process left behind (it died between commit and publish) are found
// by a scan of the store when Run starts and every storeScanEvery. Either way
// an event is published at least once, always with its deterministic id, so
// the broker's de-duplication and the handlers' version checks see a repeat
// as one event.
//
// Why not Dapr's own outbox (outboxPublishPubsub on the state store)? It holds
// every event for at least a second before publishing (a fixed scan delay in
// the runtime), gives it a random id that the broker cannot de-duplicate, and
// sends all of a store's events to a single topic.

const (
	// recordPrefix prefixes an outbox record's key; the rest is the event id.
	recordPrefix = "outbox|"
	// recordKind marks outbox records, so that a state query finds them.
	recordKind = "outbox"
	// maxUnpublished bounds the events remembered for a retry; beyond it
	// they wait in the store for the next scan.
	maxUnpublished = 100_000
	// storeScanEvery is how often the store is scanned for records this
	// process does not know of.
	storeScanEvery = time.Minute
	// scanMinAge: younger records are probably being published right now.
	scanMinAge = 5 * time.Second
	// scanPage is how many records one scan reads.
	scanPage = 200
	// publishers is how many publish calls are in flight at once;
	// publishBatch caps the events of one call.
	publishers   = 4
	publishBatch = 256
	// publishTimeout bounds one publish call; what it did not publish is
	// retried.
	publishTimeout = 30 * time.Second
	// deleteLinger is how long the first published record waits for others
	// to share its deletion's transaction; deleteBatch caps one.
	deleteLinger = 100 * time.Millisecond
	deleteBatch  = 256
)

type record struct {
	Kind    string         `json:"kind"`
	Message events.Message `json:"message"`
	At      time.Time      `json:"at"`
}

func outboxRecordOp(m events.Message, at time.Time) sidecar.Op {
	return sidecar.Op{Key: recordPrefix + m.ID, Value: record{Kind: recordKind, Message: m, At: at}}
}

type outbox struct {
	state   sidecar.State
	pub     sidecar.Publisher
	log     *slog.Logger
	pending chan []events.Message // to the publishers, while running
	running atomic.Bool
	deletes chan string

	mu sync.Mutex
	// unpublished are committed events whose publish failed, retried every
	// relay interval without reading the store.
	unpublished map[string]events.Message
}

func newOutbox(state sidecar.State, pub sidecar.Publisher, log *slog.Logger) *outbox {
	return &outbox{
		state: state, pub: pub, log: log,
		pending:     make(chan []events.Message, 4096),
		deletes:     make(chan string, 4096),
		unpublished: map[string]events.Message{},
	}
}

// send publishes committed events: in the background while run runs, else
// at once, with a context that outlives a cancelled request (the state is
// committed, so its events should go out now).
func (o *outbox) send(ctx context.Context, msgs []events.Message) {
	if o.running.Load() {
		select {
		case o.pending <- msgs:
		default: // the publishers are behind (the broker down?): retried later
			o.remember(msgs)
		}
		return
	}
	pubCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	o.publish(pubCtx, msgs)
}

// run (started with running set) publishes what commits hand over, deletes published events' records in
// batches, retries every interval what could not be published, and relays
// the records that no one here knows of. It returns when ctx ends, once what
// was handed over is published and what was published is deleted.
func (o *outbox) run(ctx context.Context, interval time.Duration) {
	var wg sync.WaitGroup
	for range publishers {
		wg.Go(func() { o.publishPending(ctx) })
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	scan := time.NewTicker(storeScanEvery)
	defer scan.Stop()
	// What a process before this one left: every record older than this
	// process, tried again every interval until a scan succeeds with less
	// than a page.
	started := time.Now()
	leftovers := func() bool {
		found, _, err := o.relayPage(ctx, started)
		return err != nil || found == scanPage
	}
	pending := leftovers()

	batch := make([]sidecar.Op, 0, deleteBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := o.state.Transact(context.WithoutCancel(ctx), inLockOrder(batch)...); err != nil {
			o.log.Warn("outbox cleanup failed; the relay will retry", "records", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	drain := func() {
		for len(batch) < cap(batch) {
			select {
			case key := <-o.deletes:
				batch = append(batch, sidecar.Op{Key: key, Delete: true})
			default:
				return
			}
		}
	}
	linger := time.NewTimer(deleteLinger)
	linger.Stop()
	for {
		select {
		case <-ctx.Done():
			// Commits publish themselves from now on; the publishers send what
			// they were handed, then what is queued for deletion is deleted.
			// Records missed here are harmless: the next scan republishes
			// them, and the broker drops the duplicate by its id.
			o.running.Store(false)
			wg.Wait()
			for drain(); len(batch) > 0; drain() {
				flush()
			}
			return
		case key := <-o.deletes:
			if len(batch) == 0 {
				linger.Reset(deleteLinger)
			}
			batch = append(batch, sidecar.Op{Key: key, Delete: true})
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
			o.relayPage(ctx, time.Now().Add(-scanMinAge))
		}
	}
}

// publishPending publishes what commits hand over, several commits' events
// per call, until ctx ends; then what is left.
func (o *outbox) publishPending(ctx context.Context) {
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
func (o *outbox) publish(ctx context.Context, msgs []events.Message) bool {
	if tracing.Parent(ctx) == "" && msgs[0].TraceParent != "" {
		ctx = tracing.WithParent(ctx, msgs[0].TraceParent)
	}
	failed := map[string]bool{}
	if err := o.pub.Publish(ctx, msgs...); err != nil {
		var pe *sidecar.PublishError
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
		case o.deletes <- recordPrefix + m.ID:
		default: // the cleaner is behind; the store scan will find and delete this record
		}
	}
	o.remember(retry)
	return len(retry) == 0
}

// remember keeps msgs for the next retry.
func (o *outbox) remember(msgs []events.Message) {
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
func (o *outbox) retryUnpublished(ctx context.Context) {
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

// relayPage reads a page of outbox records, publishes those committed before
// cutoff, and returns how many records the page held and how many of them it
// published.
func (o *outbox) relayPage(ctx context.Context, cutoff time.Time) (found, published int, err error) {
	query := `{"filter":{"EQ":{"kind":"` + recordKind + `"}},"page":{"limit":` + strconv.Itoa(scanPage) + `}}`
	items, _, err := o.state.Query(ctx, query)
	if err != nil {
		o.log.Warn("outbox relay: query failed", "err", err)
		return 0, 0, err
	}
	var due []events.Message
	for _, it := range items {
		if !strings.Contains(it.Key, recordPrefix) { // keys may carry the app id: "orders||outbox|..."
			continue
		}
		var rec record
		if err := json.Unmarshal(it.Value, &rec); err != nil || rec.Kind != recordKind {
			continue
		}
		if rec.At.After(cutoff) {
			continue // probably being published right now
		}
		due = append(due, rec.Message)
		o.log.Info("outbox relay publishing a pending event", "event", rec.Message.ID, "age", time.Since(rec.At).Round(time.Millisecond))
	}
	if len(due) > 0 && o.publish(ctx, due) {
		published = len(due)
	}
	return len(items), published, nil
}
