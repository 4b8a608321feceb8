package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// Publisher publishes events.
type Publisher interface {
	// Publish publishes msgs; an error means some may not have been (a
	// *PublishError says which).
	Publish(ctx context.Context, msgs ...events.Message) error
}

// PublishError names the events a Publish call did not publish; the others
// were.
type PublishError struct {
	Failed []string // event ids
	Err    error
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("%d events not published: %v", len(e.Failed), e.Err)
}

func (e *PublishError) Unwrap() error { return e.Err }

// bulkLimit caps the events of one bulk call: the sidecar publishes a call's
// events in parallel and answers when the last is stored, so a huge call
// holds its caller behind the slowest of many.
const bulkLimit = 64

// DaprPublisher publishes through the sidecar's pub/sub API.
type DaprPublisher struct {
	client dapr.Client
	pubsub string
}

// NewPublisher returns a publisher on the named pub/sub component.
func NewPublisher(client dapr.Client, pubsub string) *DaprPublisher {
	return &DaprPublisher{client: client, pubsub: pubsub}
}

// Publish sends each message with its deterministic id as the CloudEvent id.
// Dapr would otherwise make a new random id per call, and a retried publish
// would be a new message that the broker cannot de-duplicate (JetStream uses
// the CloudEvent id as Nats-Msg-Id). Each message also carries its own trace
// context as the CloudEvent's traceparent, so that what it causes joins the
// trace of the work that caused it, even when events of several requests go
// out in one call. Several messages of one topic go in one bulk call (the
// sidecar publishes them in parallel); one goes alone.
func (p *DaprPublisher) Publish(ctx context.Context, msgs ...events.Message) error {
	var (
		errs   []error
		failed []string
	)
	for _, topic := range byTopic(msgs) {
		for chunk := range slices.Chunk(topic, bulkLimit) {
			if err := p.publishTopic(ctx, chunk); err != nil {
				errs = append(errs, err)
				var pe *PublishError
				if errors.As(err, &pe) {
					failed = append(failed, pe.Failed...)
				} else {
					for _, m := range chunk {
						failed = append(failed, m.ID)
					}
				}
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &PublishError{Failed: failed, Err: fmt.Errorf("%w: %v", ErrUnavailable, errors.Join(errs...))}
}

func (p *DaprPublisher) publishTopic(ctx context.Context, msgs []events.Message) error {
	topic := string(msgs[0].Topic)
	if len(msgs) == 1 {
		m := msgs[0]
		err := p.client.PublishEvent(ctx, p.pubsub, topic, m.Data, dapr.PublishEventWithMetadata(metadataOf(m)))
		if err != nil {
			return &PublishError{Failed: []string{m.ID}, Err: fmt.Errorf("%w: publish %s: %v", ErrUnavailable, m.ID, err)}
		}
		return nil
	}
	entries := make([]any, len(msgs))
	for i, m := range msgs {
		data, err := json.Marshal(m.Data)
		if err != nil {
			return fmt.Errorf("encode %s: %w", m.ID, err)
		}
		entries[i] = dapr.PublishEventsEvent{
			EntryID:     m.ID,
			Data:        data,
			ContentType: "application/json",
			Metadata:    metadataOf(m),
		}
	}
	res := p.client.PublishEvents(ctx, p.pubsub, topic, entries)
	if res.Error == nil {
		return nil
	}
	pe := &PublishError{Err: fmt.Errorf("%w: publish %d events on %s (%d failed): %v", ErrUnavailable, len(msgs), topic, len(res.FailedEvents), res.Error)}
	for _, f := range res.FailedEvents {
		if e, ok := f.(dapr.PublishEventsEvent); ok {
			pe.Failed = append(pe.Failed, e.EntryID)
		}
	}
	if len(pe.Failed) == 0 { // which ones is unknown: all of them, as far as we know
		for _, m := range msgs {
			pe.Failed = append(pe.Failed, m.ID)
		}
	}
	return pe
}

// metadataOf overrides the CloudEvent attributes Dapr would otherwise make
// up: the id, and the trace context.
func metadataOf(m events.Message) map[string]string {
	md := map[string]string{"cloudevent.id": m.ID}
	if m.TraceParent != "" {
		md["cloudevent.traceparent"] = m.TraceParent
	}
	return md
}

// byTopic groups msgs by topic, in order of first appearance, dropping
// repeats of an id (a bulk call refuses two entries with one id).
func byTopic(msgs []events.Message) [][]events.Message {
	var out [][]events.Message
	index := map[events.Topic]int{}
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[m.ID] {
			continue
		}
		seen[m.ID] = true
		i, ok := index[m.Topic]
		if !ok {
			i = len(out)
			index[m.Topic] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], m)
	}
	return out
}
