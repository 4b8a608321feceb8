package baseline

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// streamName is the baseline's own JetStream stream; subjectPrefix scopes its
// subjects. Each topic is published on its own subject under baseline.>, so
// the baseline's stream never overlaps the mesh's TICKETING stream.
const (
	streamName    = "BASELINE"
	subjectPrefix = "baseline."
)

// subject is where a topic is published: baseline.order-created.
func subject(topic events.Topic) string {
	return subjectPrefix + strings.ReplaceAll(string(topic), ":", "-")
}

// newStream replaces the baseline's stream with an empty one: file storage and
// a de-duplication window for the event ids, as the mesh provisions
// TICKETING.
func newStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	if err := js.DeleteStream(ctx, streamName); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, err
	}
	return js.CreateStream(ctx, jetstream.StreamConfig{
		Name:       streamName,
		Subjects:   []string{subjectPrefix + ">"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     time.Hour, // deleted at the end of the run anyway
		Duplicates: 2 * time.Minute,
		Replicas:   1,
	})
}

// publish sends an event and waits for JetStream to acknowledge storing it,
// with the event id as Nats-Msg-Id, as a sidecar's publish does.
func publish(ctx context.Context, js jetstream.JetStream, topic events.Topic, id string, data []byte) error {
	_, err := js.Publish(ctx, subject(topic), data, jetstream.WithMsgID(id))
	return err
}

// handler processes one delivery: nil acknowledges it, an error asks for
// redelivery after ackWait (the sidecar's NakWithDelay).
type handler func(ctx context.Context, data []byte) error

// subscription is one service's durable consumer of one topic with its
// in-flight handlers.
type subscription struct {
	name     string
	consumer jetstream.Consumer
	cc       jetstream.ConsumeContext
	inflight sync.WaitGroup
}

// Consumer settings of the mesh's JetStream components: redeliver after 2 s,
// up to 1,000 unacknowledged; concurrency bounds the handlers running at once
// (the components' "parallel" mode starts one per message).
const (
	ackWait       = 2 * time.Second
	maxAckPending = 1000
	concurrency   = 32
)

// subscribe creates the durable consumer name of topic and runs h on each
// message in its own goroutine, acknowledging manually, as a sidecar delivers
// to its app in parallel. fail records handler errors.
func subscribe(ctx context.Context, s jetstream.Stream, name string, topic events.Topic, h handler, fail func(error)) (*subscription, error) {
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       name,
		FilterSubject: subject(topic),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: maxAckPending,
	})
	if err != nil {
		return nil, err
	}
	sub := &subscription{name: name, consumer: c}
	slots := make(chan struct{}, concurrency)
	sub.cc, err = c.Consume(func(m jetstream.Msg) {
		slots <- struct{}{}
		sub.inflight.Add(1)
		go func() {
			defer func() { <-slots; sub.inflight.Done() }()
			if err := h(ctx, m.Data()); err != nil {
				fail(err)
				_ = m.NakWithDelay(ackWait)
				return
			}
			_ = m.Ack()
		}()
	})
	if err != nil {
		return nil, err
	}
	return sub, nil
}

// idle reports whether the consumer has nothing left to deliver and nothing
// delivered but unacknowledged.
func (s *subscription) idle(ctx context.Context) (bool, error) {
	info, err := s.consumer.Info(ctx)
	if err != nil {
		return false, err
	}
	return info.NumPending == 0 && info.NumAckPending == 0, nil
}

// stop stops fetching, lets the messages already fetched be handled, and
// waits for every handler to return.
func (s *subscription) stop() {
	s.cc.Drain()
	<-s.cc.Closed()
	s.inflight.Wait()
}
