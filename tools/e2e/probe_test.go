package e2e

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
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

// waitConsumed waits until every named subscription component (for example
// "orders-ticket-created") has handled and acknowledged everything published
// on its topic, i.e. the services have caught up with the events. What
// "caught up" means on each broker is mesh.Consumed's to say.
func waitConsumed(t testing.TB, within time.Duration, consumers ...string) {
	t.Helper()
	for _, c := range consumers {
		eventually(t, within, "consumer "+c+" to catch up", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ok, err := the.Consumed(ctx, c)
			if err != nil {
				t.Logf("consumer %s: %v", c, err)
			}
			return ok
		})
	}
}

// publishRaw puts a CloudEvent on the broker as a publisher's sidecar would,
// with its own id so no broker de-duplicates it: a redelivery, as far as the
// consumers can tell.
func publishRaw(t testing.TB, topic string, data []byte) {
	t.Helper()
	ce := []byte(`{"specversion":"1.0","id":"e2e-` + time.Now().Format(time.RFC3339Nano) + `","source":"e2e","type":"com.dapr.event.sent","datacontenttype":"application/json","topic":"` + topic + `","pubsubname":"pubsub","data":` + string(data) + `}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := the.PublishRaw(ctx, topic, ce); err != nil {
		t.Fatal(err)
	}
}

// waitHandled waits until an event about each of ids is on topic's stream
// (an app publishes from its outbox after it answers, so the event may not be
// there yet when the request returns), then until the named consumers have
// handled everything on their topics.
func waitHandled(t testing.TB, within time.Duration, topic string, ids []string, consumers ...string) {
	t.Helper()
	eventually(t, within, topic+" published for "+strings.Join(ids, ", "), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		msgs, err := the.Published(ctx, topic)
		if err != nil {
			t.Logf("reading %s: %v", topic, err)
			return false
		}
		for _, id := range ids {
			if !slices.ContainsFunc(msgs, func(m []byte) bool { return bytes.Contains(m, []byte(id)) }) {
				return false
			}
		}
		return true
	})
	waitConsumed(t, within, consumers...)
}

// countOnStream counts the messages published on topic, as the broker keeps
// them, whose payload mentions needle.
func countOnStream(t testing.TB, topic, needle string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, err := the.Published(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if bytes.Contains(m, []byte(needle)) {
			n++
		}
	}
	return n
}
