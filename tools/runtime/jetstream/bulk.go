package jetstream

// tixmesh addition (fix 5 in README.md): a native BulkSubscribe.

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/dapr/components-contrib/pubsub"
	"github.com/dapr/kit/logger"
)

// defaultBulkWorkers is how many bulk deliveries a subscription keeps in
// flight when bulkWorkers is not set. One keeps a subscription's batches in
// order and never racing each other for a key (expiration's slot record is
// written by every order of a second); natural batching keeps it busy only
// as long as there is work.
const defaultBulkWorkers = 1

// BulkSubscribe delivers the subscription's messages in batches. Without it
// the sidecar's generic bulk subscriber is used, which hands the app one batch
// at a time per subscription and flushes on a free-running ticker, so a busy
// subscription delivered small batches one after another and queued the rest
// (measured: ~4 events per batch, the app's handler busy all the time, order
// -> ticket reserved p99 above a second). Here bulkWorkers workers each take,
// as soon as it is free, whatever has arrived (up to maxMessagesCount): one
// message alone when it is quiet, large batches when it is busy, and never a
// wait for a timer. maxAwaitDurationMs is therefore not waited out.
//
// Each message is acknowledged, or NAKed for redelivery after ackWait, by its
// own entry's outcome; from its arrival until then, it is reported in
// progress, so that neither a slow batch nor the queue behind one turns into
// redeliveries.
func (js *jetstreamPubSub) BulkSubscribe(ctx context.Context, req pubsub.SubscribeRequest, handler pubsub.BulkHandler) error {
	if js.closed.Load() {
		return errors.New("component is closed")
	}
	max := req.BulkSubscribeConfig.MaxMessagesCount
	if max <= 0 {
		max = 100
	}
	workers := js.meta.BulkWorkers
	if workers <= 0 {
		workers = defaultBulkWorkers
	}
	// Room for every message the server may have unacknowledged with us, so
	// that the subscription's callback never blocks (a message held inside
	// the client could not be reported in progress, and would come back).
	room := max * workers
	if js.meta.MaxAckPending > room {
		room = js.meta.MaxAckPending
	}
	arrived := make(chan *nats.Msg, room)
	held := newInFlight(js.meta.AckWait)
	receive := func(m *nats.Msg) {
		held.add(m)
		select {
		case arrived <- m:
		case <-ctx.Done(): // unacknowledged: redelivered after ackWait
			held.remove(m)
		case <-js.closeCh:
			held.remove(m)
		}
	}
	if err := js.subscribe(ctx, req, receive); err != nil {
		return err
	}
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		held.keepInProgress(ctx, js.closeCh, js.l)
	}()
	for range workers {
		js.wg.Add(1)
		go func() {
			defer js.wg.Done()
			batch := make([]*nats.Msg, 0, max)
			for {
				select {
				case <-ctx.Done():
					return
				case <-js.closeCh:
					return
				case m := <-arrived:
					batch = append(batch[:0], m)
				}
			take:
				for len(batch) < max {
					select {
					case m := <-arrived:
						batch = append(batch, m)
					default:
						break take
					}
				}
				js.deliverBatch(ctx, req.Topic, batch, handler)
				for _, m := range batch {
					held.remove(m)
				}
			}
		}()
	}
	return nil
}

// deliverBatch hands batch to the sidecar's bulk handler and settles each
// message by its entry's outcome. An entry the handler did not answer counts
// as failed when the handler failed, as handled when it did not.
func (js *jetstreamPubSub) deliverBatch(ctx context.Context, topic string, batch []*nats.Msg, handler pubsub.BulkHandler) {
	entries := make([]pubsub.BulkMessageEntry, 0, len(batch))
	msgs := make(map[string]*nats.Msg, len(batch))
	for i, m := range batch {
		id := strconv.Itoa(i)
		if jsm, err := m.Metadata(); err == nil {
			id = strconv.FormatUint(jsm.Sequence.Stream, 10)
		}
		if _, dup := msgs[id]; dup {
			id += "-" + strconv.Itoa(i)
		}
		msgs[id] = m
		entries = append(entries, pubsub.BulkMessageEntry{
			EntryId:  id,
			Event:    m.Data,
			Metadata: map[string]string{"Topic": m.Subject},
		})
	}
	resp, err := handler(ctx, &pubsub.BulkMessage{Topic: topic, Entries: entries, Metadata: map[string]string{}})
	outcome := make(map[string]error, len(resp))
	for _, r := range resp {
		if r.EntryId != "" {
			outcome[r.EntryId] = r.Error
		}
	}
	for id, m := range msgs {
		failed, answered := outcome[id]
		if !answered {
			failed = err
		}
		if failed == nil {
			if aerr := m.Ack(); aerr != nil {
				js.l.Errorf("Error while sending ACK for JetStream message %s (entry %s): %v", m.Subject, id, aerr)
			}
			continue
		}
		js.l.Errorf("Error processing JetStream message %s (entry %s): %v", m.Subject, id, failed)
		var nakErr error
		if js.meta.AckWait != 0 {
			nakErr = m.NakWithDelay(js.meta.AckWait)
		} else {
			nakErr = m.Nak()
		}
		if nakErr != nil {
			js.l.Errorf("Error while sending NAK for JetStream message %s (entry %s): %v", m.Subject, id, nakErr)
		}
	}
}

// inFlight are the messages a bulk subscription holds, from arrival to
// settlement, with when each was last reported in progress.
type inFlight struct {
	wait time.Duration
	mu   sync.Mutex
	msgs map[*nats.Msg]time.Time
}

func newInFlight(ackWait time.Duration) *inFlight {
	if ackWait <= 0 {
		ackWait = 30 * time.Second // the server's default
	}
	return &inFlight{wait: ackWait, msgs: map[*nats.Msg]time.Time{}}
}

func (f *inFlight) add(m *nats.Msg) {
	f.mu.Lock()
	f.msgs[m] = time.Now()
	f.mu.Unlock()
}

func (f *inFlight) remove(m *nats.Msg) {
	f.mu.Lock()
	delete(f.msgs, m)
	f.mu.Unlock()
}

// keepInProgress sends +WPI for every message held a quarter of an ackWait
// since its arrival or its last report, checking every quarter: each is
// reported within half an ackWait, well before the server would redeliver
// it. It runs until ctx ends or closed.
func (f *inFlight) keepInProgress(ctx context.Context, closed <-chan struct{}, l logger.Logger) {
	t := time.NewTicker(f.wait / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-closed:
			return
		case now := <-t.C:
			var due []*nats.Msg
			f.mu.Lock()
			for m, at := range f.msgs {
				if now.Sub(at) >= f.wait/4 {
					due = append(due, m)
					f.msgs[m] = now
				}
			}
			f.mu.Unlock()
			for _, m := range due {
				if err := m.InProgress(); err != nil {
					l.Debugf("in-progress for %s: %v", m.Subject, err)
				}
			}
		}
	}
}
