package store

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

// write is a change that sets key (unconditionally) and causes msgs; with no
// key, it only causes msgs.
func write(key string, v any, msgs ...events.Message) Change[struct{}] {
	return Change[struct{}]{Decide: func(Read) (struct{}, Effect, error) {
		eff := Effect{Events: msgs}
		if key != "" {
			eff.Ops = []sidecar.Op{{Key: key, Value: v}}
		}
		return struct{}{}, eff, nil
	}}
}

func commitWrite(s *Store, key string, v any, msgs ...events.Message) error {
	_, err := Apply(context.Background(), s, write(key, v, msgs...))
	return err
}

// runStore runs s's background work with interval as its relay interval,
// until stop is called; stop returns once Run has.
func runStore(s *Store, interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx, Settings{RelayInterval: interval}); close(done) }()
	for !s.running.Load() {
		time.Sleep(time.Millisecond)
	}
	return func() { cancel(); <-done }
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
	ob := New(state, pub, quiet)
	if err := commitWrite(ob, "order|o1", map[string]string{"id": "o1"}, msg("o1")); err != nil {
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
	ob := New(state, pub, quiet)
	ctx := context.Background()
	if err := state.Transact(ctx, sidecar.Op{Key: "order|o1", Value: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(ctx, ob, Change[struct{}]{Decide: func(Read) (struct{}, Effect, error) {
		return struct{}{}, Effect{Ops: []sidecar.Op{Create("order|o1", 2)}, Events: []events.Message{msg("o1")}}, nil
	}})
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
	ob := New(state, pub, quiet)
	ctx := context.Background()
	if err := commitWrite(ob, "order|o1", 1, msg("o1")); err != nil {
		t.Fatalf("commit failed although the state was saved: %v", err)
	}
	if got := outboxKeys(state); len(got) != 1 {
		t.Fatalf("outbox records %v, want the unpublished event kept", got)
	}
	// Too young: the relay leaves it to the committer that may still be publishing.
	if _, n, _ := ob.outbox.relayPage(ctx, time.Now().Add(-time.Hour)); n != 0 {
		t.Errorf("relay published %d young records, want 0", n)
	}
	pub.Err = nil
	if _, n, _ := ob.outbox.relayPage(ctx, time.Now()); n != 1 {
		t.Fatalf("relay published %d, want 1", n)
	}
	if got := pub.Messages(); len(got) != 1 || got[0].ID != "expiration:complete/o1" {
		t.Errorf("relayed %v, want the event with its own id", got)
	}
}

func TestPublishedRecordsAreCleanedUp(t *testing.T) {
	state, pub := sidecartest.NewState(), &sidecartest.Publisher{}
	ob := New(state, pub, quiet)
	stop := runStore(ob, time.Hour)
	for i := range 10 {
		if err := commitWrite(ob, "", nil, msg(string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	stop() // Run flushes what it has queued before it returns
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
	ob := New(state, broker, quiet)
	t.Cleanup(runStore(ob, time.Hour))
	t.Cleanup(func() { close(broker.release) }) // runs first: the publishers may finish
	// The broker holds every publish, yet the change commits and returns.
	if err := commitWrite(ob, "order|o1", 1, msg("o1")); err != nil {
		t.Fatal(err)
	}
	if it, _ := state.Get(context.Background(), "order|o1"); !it.Found() {
		t.Error("the state change was not saved")
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
	ob := New(state, pub, quiet)
	t.Cleanup(runStore(ob, 5*time.Millisecond))
	if err := commitWrite(ob, "order|o1", 1, msg("o1")); err != nil {
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
	ob := New(state, &halfBroker{}, quiet)
	stop := runStore(ob, time.Hour)
	if err := commitWrite(ob, "", nil, msg("a"), msg("bx"), msg("c")); err != nil {
		t.Fatal(err)
	}
	stop()
	if got := outboxKeys(state); len(got) != 1 || got[0] != "outbox|expiration:complete/bx" {
		t.Errorf("outbox records %v, want only the unpublished bx's", got)
	}
}
