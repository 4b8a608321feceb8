package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dapr/components-contrib/metadata"
	"github.com/dapr/components-contrib/pubsub"
	jsupstream "github.com/dapr/components-contrib/pubsub/jetstream"
	confpubsub "github.com/dapr/components-contrib/tests/conformance/pubsub"
	"github.com/dapr/kit/logger"

	jspatched "github.com/tixmesh/ticketing/tools/runtime/jetstream"
)

// A pub/sub variant: the project's patched pubsub.jetstream, or upstream's.
type brokerVariant struct {
	name string
	new  func(logger.Logger) pubsub.PubSub
}

var (
	patchedBroker  = brokerVariant{"patched", jspatched.NewJetStream}
	upstreamBroker = brokerVariant{"upstream", jsupstream.NewJetStream}
)

func brokers() []brokerVariant {
	if upstream() {
		return []brokerVariant{patchedBroker, upstreamBroker}
	}
	return []brokerVariant{patchedBroker}
}

// Dapr's own pub/sub conformance suite, twice: with the component settings
// components-contrib's CI uses for jetstream (tests/config/pubsub/jetstream),
// and with this project's (components/brokers/jetstream: parallel handlers,
// ackWait 2 s, maxAckPending 1000, deliverPolicy all). Both add bulk
// subscribe, which the patch implements natively (upstream's CI runs no
// operation beyond the basics; upstream has no BulkSubscribe).
//
// The suite subscribes to several topics through one component, so neither
// variant sets a durable name: JetStream's durable name is per component, and
// two topics on one durable consumer take it from each other (the suite's
// "multiple handlers" test cannot pass with one, patched or not). The
// project gives every (app, topic) its own component and durable; the tests
// below cover durable consumers and queue groups.
func TestPubSubConformance(t *testing.T) {
	settings := []struct {
		name  string
		props map[string]string
		cfg   map[string]any
	}{
		{"ci-settings", map[string]string{"flowControl": "true", "heartbeat": "5s"}, nil},
		{"project-settings", map[string]string{
			"deliverPolicy": "all", "ackWait": "2s", "maxAckPending": "1000", "concurrency": "parallel",
		}, map[string]any{"checkInOrderProcessing": false}}, // parallel handlers: no order
	}
	for _, b := range brokers() {
		for _, s := range settings {
			t.Run(b.name+"/"+s.name, func(t *testing.T) {
				prefix := "conf." + strings.ReplaceAll(uuid.NewString()[:8], "-", "") + "."
				cfg := map[string]any{
					"testTopicName":         prefix + "testTopic",
					"testTopicForBulkSub":   prefix + "testTopicBulk",
					"testMultiTopic1Name":   prefix + "multiTopic1",
					"testMultiTopic2Name":   prefix + "multiTopic2",
					"waitDurationToPublish": time.Second, // NATS needs no time to set a subscription up
					"maxReadDuration":       30 * time.Second,
				}
				for k, v := range s.cfg {
					cfg[k] = v
				}
				ops := []string{"bulksubscribe"}
				if b.name == "upstream" {
					ops = nil // not implemented upstream: the generic one in the sidecar stands in
				}
				tc, err := confpubsub.NewTestConfig("jetstream", ops, cfg)
				if err != nil {
					t.Fatal(err)
				}
				props := map[string]string{"natsURL": natsURL, "name": "conformance-" + b.name}
				for k, v := range s.props {
					props[k] = v
				}
				confpubsub.ConformanceTests(t, props, b.new(logger.NewLogger("conformance."+b.name)), tc)
			})
		}
	}
}

// ownTopic is a topic of its own for a test, in the OWN stream.
func ownTopic() string { return "own." + strings.ReplaceAll(uuid.NewString(), "-", "") }

// newBroker returns an initialised component with the given settings on top
// of the project's (durable consumer, queue group, ackWait, parallel).
func newBroker(t *testing.T, v brokerVariant, props map[string]string) pubsub.PubSub {
	t.Helper()
	all := map[string]string{"natsURL": natsURL, "name": "own-" + v.name, "deliverPolicy": "all"}
	for k, val := range props {
		all[k] = val
	}
	ps := v.new(logger.NewLogger("own." + v.name))
	if err := ps.Init(t.Context(), pubsub.Metadata{Base: metadata.Base{Properties: all}}); err != nil {
		t.Fatalf("init %s: %v", v.name, err)
	}
	t.Cleanup(func() { _ = ps.Close() })
	return ps
}

func publish(t *testing.T, ps pubsub.PubSub, topic string, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if err := ps.Publish(t.Context(), &pubsub.PublishRequest{PubsubName: "own", Topic: topic, Data: []byte(m)}); err != nil {
			t.Fatalf("publish %s: %v", m, err)
		}
	}
}

// received counts the deliveries of each message.
type received struct {
	mu   sync.Mutex
	n    map[string]int
	cond chan struct{}
}

func newReceived() *received { return &received{n: map[string]int{}, cond: make(chan struct{}, 1)} }

func (r *received) add(m string) {
	r.mu.Lock()
	r.n[m]++
	r.mu.Unlock()
	select {
	case r.cond <- struct{}{}:
	default:
	}
}

func (r *received) count(m string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[m]
}

func (r *received) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.n)
}

// waitUntil polls ok until it holds or d passes.
func waitUntil(d time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// Patch 1 (ManualAck). With parallel handlers, a message the handler rejects
// is redelivered after ackWait. Upstream acknowledges every message when the
// subscription's callback returns, which in parallel mode is before the
// handler ran: its NAK then fails ("nats: message was already acknowledged")
// and the message is never seen again.
func TestJetStreamARejectedMessageIsRedelivered(t *testing.T) {
	for _, v := range brokers() {
		t.Run(v.name, func(t *testing.T) {
			topic := ownTopic()
			ps := newBroker(t, v, map[string]string{
				"durableName": "rejected-" + v.name + topic[4:12], "ackWait": "1s", "concurrency": "parallel",
			})
			got := newReceived()
			err := ps.Subscribe(t.Context(), pubsub.SubscribeRequest{Topic: topic}, func(_ context.Context, m *pubsub.NewMessage) error {
				got.add(string(m.Data))
				if got.count(string(m.Data)) == 1 {
					return errors.New("first delivery rejected")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			publish(t, ps, topic, "m1", "m2", "m3")
			if !waitUntil(8*time.Second, func() bool { return got.count("m1") >= 2 && got.count("m2") >= 2 && got.count("m3") >= 2 }) {
				t.Fatalf("deliveries m1=%d m2=%d m3=%d after 8 s, want each rejected message redelivered (ackWait 1 s)", got.count("m1"), got.count("m2"), got.count("m3"))
			}
		})
	}
}

// Patch 1 again: maxAckPending bounds the handlers in flight. Upstream's
// acknowledgement on receipt leaves nothing pending, so every published
// message runs at once however small maxAckPending is.
func TestJetStreamMaxAckPendingBoundsParallelHandlers(t *testing.T) {
	for _, v := range brokers() {
		t.Run(v.name, func(t *testing.T) {
			topic := ownTopic()
			ps := newBroker(t, v, map[string]string{
				"durableName": "bounded-" + v.name + topic[4:12], "ackWait": "10s", "maxAckPending": "2", "concurrency": "parallel",
			})
			var running, peak atomic.Int32
			release := make(chan struct{})
			got := newReceived()
			err := ps.Subscribe(t.Context(), pubsub.SubscribeRequest{Topic: topic}, func(_ context.Context, m *pubsub.NewMessage) error {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				<-release
				running.Add(-1)
				got.add(string(m.Data))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for i := range 8 {
				msgs = append(msgs, fmt.Sprintf("m%d", i))
			}
			publish(t, ps, topic, msgs...)
			waitUntil(2*time.Second, func() bool { return running.Load() >= 2 })
			time.Sleep(time.Second) // room for more to start, were they not bounded
			close(release)
			if p := peak.Load(); p > 2 {
				t.Errorf("%d handlers ran at once with maxAckPending 2", p)
			}
			if !waitUntil(10*time.Second, func() bool { return got.distinct() == len(msgs) }) {
				t.Fatalf("%d of %d messages handled", got.distinct(), len(msgs))
			}
		})
	}
}

// Patch 3 (work in progress). A handler slower than ackWait is not
// redelivered while it runs: the component reports it in progress. Upstream
// lets ackWait expire and the server delivers the message again.
func TestJetStreamASlowHandlerIsNotRedelivered(t *testing.T) {
	for _, v := range brokers() {
		t.Run(v.name, func(t *testing.T) {
			topic := ownTopic()
			ps := newBroker(t, v, map[string]string{"durableName": "slow-" + v.name + topic[4:12], "ackWait": "1s"})
			got := newReceived()
			err := ps.Subscribe(t.Context(), pubsub.SubscribeRequest{Topic: topic}, func(_ context.Context, m *pubsub.NewMessage) error {
				got.add(string(m.Data))
				if string(m.Data) == "slow" {
					time.Sleep(3 * time.Second)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			publish(t, ps, topic, "slow", "next")
			if !waitUntil(10*time.Second, func() bool { return got.count("next") > 0 }) {
				t.Fatal("the message after the slow one never arrived")
			}
			time.Sleep(1500 * time.Millisecond) // a redelivery would be here by now
			if n := got.count("slow"); n != 1 {
				t.Errorf("the slow message was delivered %d times, want once (ackWait 1 s, handler 3 s)", n)
			}
		})
	}
}

// Patch 2 (stable deliver subject), the easy case: two replicas of an app
// share one durable consumer through a queue group; both get messages while
// both run, and when one leaves, the other gets everything. Upstream passes
// this one too: it gives each subscription a random inbox and asks the server
// to point the shared consumer at the newest, but the server keeps the deliver
// subject of a consumer someone listens on, and upstream then binds the second
// replica to the first one's inbox. The next test is the case it loses.
func TestJetStreamQueueGroupReplicasShareAConsumer(t *testing.T) {
	for _, v := range brokers() {
		t.Run(v.name, func(t *testing.T) {
			topic := ownTopic()
			props := map[string]string{"durableName": "replicas-" + v.name + topic[4:12], "queueGroupName": "app", "ackWait": "2s", "concurrency": "parallel"}
			a, b := newBroker(t, v, props), newBroker(t, v, props)
			gotA, gotB := newReceived(), newReceived()
			handler := func(r *received) pubsub.Handler {
				return func(_ context.Context, m *pubsub.NewMessage) error { r.add(string(m.Data)); return nil }
			}
			if err := a.Subscribe(t.Context(), pubsub.SubscribeRequest{Topic: topic}, handler(gotA)); err != nil {
				t.Fatal(err)
			}
			ctxB, stopB := context.WithCancel(t.Context())
			defer stopB()
			if err := b.Subscribe(ctxB, pubsub.SubscribeRequest{Topic: topic}, handler(gotB)); err != nil {
				t.Fatal(err)
			}
			var first []string
			for i := range 40 {
				first = append(first, fmt.Sprintf("first-%d", i))
			}
			publish(t, a, topic, first...)
			all := func() bool {
				for _, m := range first {
					if gotA.count(m)+gotB.count(m) == 0 {
						return false
					}
				}
				return true
			}
			if !waitUntil(10*time.Second, all) {
				t.Fatalf("with two replicas, %d + %d of %d messages arrived", gotA.distinct(), gotB.distinct(), len(first))
			}
			if gotA.distinct() == 0 || gotB.distinct() == 0 {
				t.Errorf("replica a got %d, b got %d of %d: want the queue group to share them", gotA.distinct(), gotB.distinct(), len(first))
			}

			stopB() // replica b goes away (scaled down, restarting)
			time.Sleep(500 * time.Millisecond)
			var second []string
			for i := range 10 {
				second = append(second, fmt.Sprintf("second-%d", i))
			}
			publish(t, a, topic, second...)
			if !waitUntil(10*time.Second, func() bool {
				for _, m := range second {
					if gotA.count(m) == 0 {
						return false
					}
				}
				return true
			}) {
				n := 0
				for _, m := range second {
					if gotA.count(m) > 0 {
						n++
					}
				}
				t.Fatalf("after replica b left, replica a got %d of %d new messages", n, len(second))
			}
		})
	}
}

// Patch 2, the case upstream loses: a replica (re)starts while the broker is
// coming back, before the running replica has resubscribed (nats.go
// reconnects every 2 s by default). Nobody listens on the consumer's deliver
// subject at that moment, so the server accepts the new replica's random
// inbox; the running replica then resubscribes to its old inbox and gets
// nothing, for as long as it runs: the queue group never shares again, and
// once the new replica leaves, nobody gets anything. With the deliver subject
// derived from the durable name, every replica listens on the same subject
// whatever the order.
func TestJetStreamQueueGroupSurvivesABrokerRestart(t *testing.T) {
	for _, v := range brokers() {
		t.Run(v.name, func(t *testing.T) {
			topic := ownTopic()
			props := map[string]string{"durableName": "restart-" + v.name + topic[4:12], "queueGroupName": "app", "ackWait": "2s", "concurrency": "parallel"}
			handler := func(r *received) pubsub.Handler {
				return func(_ context.Context, m *pubsub.NewMessage) error { r.add(string(m.Data)); return nil }
			}
			a := newBroker(t, v, props)
			gotA := newReceived()
			if err := a.Subscribe(t.Context(), pubsub.SubscribeRequest{Topic: topic}, handler(gotA)); err != nil {
				t.Fatal(err)
			}

			restartNATS(t)
			b := newBroker(t, v, props) // a replica starting as the broker comes back
			gotB := newReceived()
			ctxB, stopB := context.WithCancel(t.Context())
			defer stopB()
			if err := b.Subscribe(ctxB, pubsub.SubscribeRequest{Topic: topic}, handler(gotB)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Second) // replica a has reconnected by now, patched or not

			var first []string
			for i := range 40 {
				first = append(first, fmt.Sprintf("first-%d", i))
			}
			publish(t, b, topic, first...)
			waitUntil(10*time.Second, func() bool { return gotA.distinct()+gotB.distinct() >= len(first) })
			if gotA.distinct() == 0 || gotB.distinct() == 0 {
				t.Errorf("after the broker restart, replica a got %d and b got %d of %d: want the queue group to share them", gotA.distinct(), gotB.distinct(), len(first))
			}

			stopB() // the new replica leaves again
			time.Sleep(500 * time.Millisecond)
			var second []string
			for i := range 10 {
				second = append(second, fmt.Sprintf("second-%d", i))
			}
			publish(t, a, topic, second...)
			got := func() int {
				n := 0
				for _, m := range second {
					if gotA.count(m) > 0 {
						n++
					}
				}
				return n
			}
			if !waitUntil(10*time.Second, func() bool { return got() == len(second) }) {
				t.Fatalf("after replica b left, replica a got %d of %d new messages", got(), len(second))
			}
		})
	}
}
