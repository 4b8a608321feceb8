package jetstream

// tixmesh addition (fix 5 in README.md): a native BulkSubscribe.

import (
	"context"
	"errors"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/dapr/components-contrib/pubsub"
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
// own entry's outcome; work in progress is reported while its batch runs.
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
	arrived := make(chan *nats.Msg, max*workers)
	receive := func(m *nats.Msg) {
		select {
		case arrived <- m:
		case <-ctx.Done(): // unacknowledged: redelivered after ackWait
		case <-js.closeCh:
		}
	}
	if err := js.subscribe(ctx, req, receive); err != nil {
		return err
	}
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
	stops := make([]func(), 0, len(batch))
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
		stops = append(stops, js.keepInProgress(m))
	}
	resp, err := handler(ctx, &pubsub.BulkMessage{Topic: topic, Entries: entries, Metadata: map[string]string{}})
	for _, stop := range stops {
		stop()
	}
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
