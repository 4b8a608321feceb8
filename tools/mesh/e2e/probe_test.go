package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tixmesh/ticketing/tools/mesh"
)

// eventually polls cond until it holds or the deadline passes. Polling a
// condition is how these tests wait: never a fixed sleep.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	delay := 10 * time.Millisecond
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(delay)
		delay = min(delay*2, 250*time.Millisecond)
	}
}

// waitConsumed waits until every named durable consumer has handled (acked)
// everything in the stream, i.e. the services have caught up with the events.
func waitConsumed(t testing.TB, within time.Duration, consumers ...string) {
	t.Helper()
	nc, err := nats.Connect(the.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range consumers {
		eventually(t, within, "consumer "+c+" to catch up", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			info, err := js.ConsumerInfo(mesh.StreamName, c, nats.Context(ctx))
			return err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
		})
	}
}

// publishRaw puts a CloudEvent on the broker as a publisher's sidecar would,
// with its own message id so JetStream does not de-duplicate it: a
// redelivery, as far as the consumers can tell.
func publishRaw(t testing.TB, topic string, data []byte) {
	t.Helper()
	nc, err := nats.Connect(the.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	ce := []byte(`{"specversion":"1.0","id":"e2e-` + time.Now().Format(time.RFC3339Nano) + `","source":"e2e","type":"com.dapr.event.sent","datacontenttype":"application/json","topic":"` + topic + `","pubsubname":"pubsub","data":` + string(data) + `}`)
	if _, err := js.Publish(topic, ce); err != nil {
		t.Fatal(err)
	}
}
