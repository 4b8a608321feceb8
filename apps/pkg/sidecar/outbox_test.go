package sidecar_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func msg(id string) events.Message {
	return events.ExpirationCompleteEvent{OrderID: id}.Message()
}

func outboxKeys(s *sidecartest.State) []string {
	var out []string
	for _, k := range s.Keys() {
		if len(k) > 7 && k[:7] == "outbox|" {
			out = append(out, k)
		}
	}
	return out
}

func TestCommitSavesStateAndPublishesAtOnce(t *testing.T) {
	state, pub := sidecartest.NewState(), &sidecartest.Publisher{}
	ob := sidecar.NewOutbox(state, pub, quiet)
	err := ob.Commit(context.Background(), []sidecar.Op{{Key: "order|o1", Value: map[string]string{"id": "o1"}, Create: true}}, msg("o1"))
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := state.Get(context.Background(), "order|o1"); !it.Found() {
		t.Error("the state change was not saved")
	}
	if got := pub.Messages(); len(got) != 1 || got[0].ID != "expiration:complete/o1" {
		t.Errorf("published %v, want the one event", got)
	}
}

func TestFailedTransactionPublishesNothing(t *testing.T) {
	state, pub := sidecartest.NewState(), &sidecartest.Publisher{}
	ob := sidecar.NewOutbox(state, pub, quiet)
	ctx := context.Background()
	if err := state.Transact(ctx, sidecar.Op{Key: "order|o1", Value: 1}); err != nil {
		t.Fatal(err)
	}
	err := ob.Commit(ctx, []sidecar.Op{{Key: "order|o1", Value: 2, Create: true}}, msg("o1"))
	if !errors.Is(err, sidecar.ErrConflict) {
		t.Fatalf("commit = %v, want a conflict", err)
	}
	if got := pub.Messages(); len(got) != 0 {
		t.Errorf("published %v for a change that was not saved", got)
	}
	if got := outboxKeys(state); len(got) != 0 {
		t.Errorf("outbox records %v for a change that was not saved", got)
	}
}

func TestEventsThatCouldNotBePublishedAreRelayedLater(t *testing.T) {
	state, pub := sidecartest.NewState(), &sidecartest.Publisher{Err: errors.New("broker down")}
	ob := sidecar.NewOutbox(state, pub, quiet)
	ctx := context.Background()
	if err := ob.Commit(ctx, []sidecar.Op{{Key: "order|o1", Value: 1}}, msg("o1")); err != nil {
		t.Fatalf("commit failed although the state was saved: %v", err)
	}
	if got := outboxKeys(state); len(got) != 1 {
		t.Fatalf("outbox records %v, want the unpublished event kept", got)
	}
	// Too young: the relay leaves it to the committer that may still be publishing.
	if n := ob.Relay(ctx, time.Hour); n != 0 {
		t.Errorf("relay published %d young records, want 0", n)
	}
	pub.Err = nil
	if n := ob.Relay(ctx, 0); n != 1 {
		t.Fatalf("relay published %d, want 1", n)
	}
	if got := pub.Messages(); len(got) != 1 || got[0].ID != "expiration:complete/o1" {
		t.Errorf("relayed %v, want the event with its own id", got)
	}
}

func TestPublishedRecordsAreCleanedUp(t *testing.T) {
	state, pub := sidecartest.NewState(), &sidecartest.Publisher{}
	ob := sidecar.NewOutbox(state, pub, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ob.Run(ctx, time.Hour, time.Hour); close(done) }()
	for i := range 10 {
		if err := ob.Commit(context.Background(), nil, msg(string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	cancel() // Run flushes what it has queued before it returns
	<-done
	if got := outboxKeys(state); len(got) != 0 {
		t.Errorf("outbox records %v left after publishing, want none", got)
	}
}

// slowBroker holds every publish until released.
type slowBroker struct {
	sidecartest.Publisher
	release chan struct{}
}

func (b *slowBroker) Publish(ctx context.Context, msgs ...events.Message) error {
	<-b.release
	return b.Publisher.Publish(ctx, msgs...)
}

func TestWhileRunningCommitDoesNotWaitForTheBroker(t *testing.T) {
	state := sidecartest.NewState()
	broker := &slowBroker{release: make(chan struct{})}
	ob := sidecar.NewOutbox(state, broker, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ob.Run(ctx, time.Hour, time.Hour); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	// Run hands over once it is running: wait for it without sleeping blindly.
	for deadline := time.Now().Add(5 * time.Second); ; {
		committed := make(chan error, 1)
		go func() {
			committed <- ob.Commit(context.Background(), []sidecar.Op{{Key: "order|o1", Value: 1}}, msg("o1"))
		}()
		select {
		case err := <-committed:
			if err != nil {
				t.Fatal(err)
			}
			close(broker.release) // the broker comes back
			for len(broker.Messages()) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the committed event was never published")
				}
				time.Sleep(time.Millisecond)
			}
			return
		case <-time.After(50 * time.Millisecond):
			// Commit is waiting on the broker: Run had not started yet, and
			// this commit publishes itself. Release it and try again.
			broker.release <- struct{}{}
			<-committed
			if time.Now().After(deadline) {
				t.Fatal("Commit kept waiting for the broker while Run was running")
			}
		}
	}
}

// scanCounting counts the state queries (the outbox's store scans).
type scanCounting struct {
	*sidecartest.State
	mu    sync.Mutex
	scans int
}

func (s *scanCounting) Query(ctx context.Context, q string) ([]sidecar.Item, string, error) {
	s.mu.Lock()
	s.scans++
	s.mu.Unlock()
	return s.State.Query(ctx, q)
}

func TestAFailedPublishIsRetriedFromMemoryWithoutScanningTheStore(t *testing.T) {
	state := &scanCounting{State: sidecartest.NewState()}
	pub := &sidecartest.Publisher{Err: errors.New("broker down")}
	ob := sidecar.NewOutbox(state, pub, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ob.Run(ctx, 5*time.Millisecond, time.Hour); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := ob.Commit(context.Background(), []sidecar.Op{{Key: "order|o1", Value: 1}}, msg("o1")); err != nil {
		t.Fatal(err)
	}
	pub.SetErr(nil) // the broker is back
	for deadline := time.Now().Add(5 * time.Second); len(pub.Messages()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the event was never published")
		}
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.scans > 1 {
		t.Errorf("%d store scans, want only the one at start", state.scans)
	}
}

// halfBroker publishes only the events whose id does not end in "x".
type halfBroker struct{ sidecartest.Publisher }

func (b *halfBroker) Publish(ctx context.Context, msgs ...events.Message) error {
	var ok []events.Message
	var failed []string
	for _, m := range msgs {
		if strings.HasSuffix(m.ID, "x") {
			failed = append(failed, m.ID)
		} else {
			ok = append(ok, m)
		}
	}
	_ = b.Publisher.Publish(ctx, ok...)
	if len(failed) > 0 {
		return &sidecar.PublishError{Failed: failed, Err: errors.New("some failed")}
	}
	return nil
}

func TestOnlyTheRecordsOfPublishedEventsAreDeleted(t *testing.T) {
	state := sidecartest.NewState()
	ob := sidecar.NewOutbox(state, &halfBroker{}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ob.Run(ctx, time.Hour, time.Hour); close(done) }()
	if err := ob.Commit(context.Background(), nil, msg("a"), msg("bx"), msg("c")); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if got := outboxKeys(state); len(got) != 1 || got[0] != "outbox|expiration:complete/bx" {
		t.Errorf("outbox records %v, want only the unpublished bx's", got)
	}
}
