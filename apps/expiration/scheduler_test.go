package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
)

// fakeReminders records registered reminders like the Dapr scheduler keeps them.
type fakeReminders struct {
	mu     sync.Mutex
	due    map[string]time.Time // orderID/name -> due
	calls  int
	failed bool
}

func (f *fakeReminders) register(_ context.Context, orderID, name string, due time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failed {
		return errors.New("scheduler down")
	}
	f.due[orderID+"/"+name] = due
	return nil
}

func (f *fakeReminders) unregister(_ context.Context, orderID, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.due, orderID+"/"+name)
	return nil
}

func (f *fakeReminders) pending() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.due {
		out = append(out, k)
	}
	return out
}

type fixture struct {
	s     *scheduler
	state *sidecartest.State
	pub   *sidecartest.Publisher
	rem   *fakeReminders
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		state: sidecartest.NewState(),
		pub:   &sidecartest.Publisher{},
		rem:   &fakeReminders{due: map[string]time.Time{}},
		now:   time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.s = &scheduler{
		log:        log,
		store:      newScheduleStore(f.state, sidecar.NewOutbox(f.state, f.pub, log)),
		reminders:  f.rem,
		retryDelay: 5 * time.Second,
		lateness:   newLatenessStats(),
		now:        func() time.Time { return f.now },
	}
	return f
}

func created(t *testing.T, id string, expiresAt time.Time) sidecar.Event {
	t.Helper()
	b, _ := json.Marshal(events.OrderCreatedEvent{ID: id, Status: events.OrderStatusCreated, ExpiresAt: expiresAt, Ticket: events.OrderTicket{ID: "t1", Price: 10}})
	return sidecar.Event{ID: "order:created/" + id + "/0", Topic: string(events.OrderCreated), Data: b}
}

func cancelled(t *testing.T, id string) sidecar.Event {
	t.Helper()
	b, _ := json.Marshal(events.OrderCancelledEvent{ID: id, Version: 1, Ticket: events.OrderTicket{ID: "t1"}})
	return sidecar.Event{ID: "order:cancelled/" + id + "/1", Topic: string(events.OrderCancelled), Data: b}
}

func (f *fixture) expirations() int {
	n := 0
	for _, m := range f.pub.Messages() {
		if m.Topic == events.ExpirationComplete {
			n++
		}
	}
	return n
}

func TestOrderCreatedRegistersOneReminderAtTheOrdersDeadline(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	deadline := f.now.Add(15 * time.Minute)
	for range 3 { // delivered three times
		if err := f.onCreated(ctx, created(t, "o1", deadline)); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.rem.pending(); len(got) != 1 || got[0] != "o1/expire" {
		t.Fatalf("reminders %v, want one o1/expire", got)
	}
	if got := f.rem.due["o1/expire"]; !got.Equal(deadline) {
		t.Errorf("due %v, want the order's expiresAt %v", got, deadline)
	}
}

func TestReminderPublishesExpirationCompleteOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.onCreated(ctx, created(t, "o1", f.now)); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(30 * time.Millisecond)
	for range 2 { // a repeated firing
		if err := f.s.fire(ctx, "o1"); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.expirations(); got != 1 {
		t.Fatalf("%d expiration events, want 1", got)
	}
	if got := f.pub.Messages()[0].ID; got != "expiration:complete/o1" {
		t.Errorf("event id %q, want the deterministic expiration:complete/o1", got)
	}
	if s := f.s.lateness.summary(); s.Count != 1 || s.Max != 30 {
		t.Errorf("lateness %+v, want one sample of 30 ms", s)
	}
	// A late redelivery of order:created after the firing schedules nothing.
	if err := f.onCreated(ctx, created(t, "o1", f.now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if got := f.rem.calls; got != 1 {
		t.Errorf("%d reminder registrations, want 1", got)
	}
}

func TestCancelledOrderNeverExpires(t *testing.T) {
	cases := []struct {
		name  string
		order []string // "created", "cancelled", "fire"
	}{
		{"cancelled after created", []string{"created", "cancelled", "fire"}},
		{"cancelled before created arrives", []string{"cancelled", "created", "fire"}},
		{"cancelled twice", []string{"created", "cancelled", "cancelled", "fire"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			for _, step := range tc.order {
				var err error
				switch step {
				case "created":
					err = f.onCreated(ctx, created(t, "o1", f.now.Add(time.Minute)))
				case "cancelled":
					err = f.onCancelled(ctx, cancelled(t, "o1"))
				case "fire":
					err = f.s.fire(ctx, "o1")
				}
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			if got := f.expirations(); got != 0 {
				t.Errorf("%d expiration events, want 0", got)
			}
			if got := f.rem.pending(); len(got) != 0 {
				t.Errorf("reminders %v left, want none", got)
			}
		})
	}
}

func TestFiringThatCannotBeSavedIsRescheduledNotLost(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.onCreated(ctx, created(t, "o1", f.now)); err != nil {
		t.Fatal(err)
	}
	f.state.FailNext = errors.New("database down")
	if err := f.s.fire(ctx, "o1"); err != nil {
		t.Fatalf("fire answered %v, want success after re-registering", err)
	}
	var retry string
	for _, k := range f.rem.pending() {
		if strings.HasPrefix(k, "o1/"+retryReminderName) {
			retry = k
		}
	}
	if retry == "" {
		t.Fatalf("no follow-up reminder among %v", f.rem.pending())
	}
	if got, want := f.rem.due[retry], f.now.Add(5*time.Second); !got.Equal(want) {
		t.Errorf("follow-up due %v, want %v", got, want)
	}
	// The follow-up fires once the store is back.
	if err := f.s.fire(ctx, "o1"); err != nil {
		t.Fatal(err)
	}
	if got := f.expirations(); got != 1 {
		t.Errorf("%d expiration events, want 1", got)
	}
}

func TestFiringFailsLoudlyWhenNothingCanBeSaved(t *testing.T) {
	f := newFixture(t)
	f.state.FailNext = errors.New("database down")
	f.rem.failed = true
	if err := f.s.fire(context.Background(), "o1"); err == nil {
		t.Fatal("fire answered success with the store and the scheduler down; the scheduler would not retry")
	}
}

func TestMalformedEventsAreDropped(t *testing.T) {
	f := newFixture(t)
	bad := []sidecar.Event{
		{ID: "x", Data: []byte(`{not json`)},
		{ID: "y", Data: []byte(`{"id":"o1"}`)}, // no expiresAt
	}
	for _, e := range bad {
		if err := f.onCreated(context.Background(), e); !sidecar.IsDrop(err) {
			t.Errorf("event %s: %v, want a drop", e.ID, err)
		}
	}
}

func TestActorProtocolRoutes(t *testing.T) {
	f := newFixture(t)
	h := newServer(f.s.log, config{}, f.s)
	cases := []struct {
		name, method, path string
		want               int
	}{
		{"actor config", "GET", "/dapr/config", 200},
		{"reminder of a known type", "PUT", "/actors/OrderExpiration/o9/method/remind/expire", 200},
		{"reminder of an unknown type", "PUT", "/actors/Other/o9/method/remind/expire", 404},
		{"deactivation", "DELETE", "/actors/OrderExpiration/o9", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{"dueTime":"0s"}`)))
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.want, rec.Body)
			}
		})
	}
	var cfg struct{ Entities []string }
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/dapr/config", nil))
	_ = json.Unmarshal(rec.Body.Bytes(), &cfg)
	if len(cfg.Entities) != 1 || cfg.Entities[0] != actorType {
		t.Errorf("entities %v, want [%s]", cfg.Entities, actorType)
	}
	if got := f.expirations(); got != 1 {
		t.Errorf("%d expiration events after one reminder, want 1", got)
	}
}

// onCreated and onCancelled deliver one event, as a single delivery would.
func (f *fixture) onCreated(ctx context.Context, e sidecar.Event) error {
	return f.s.onOrdersCreated(ctx, []sidecar.Event{e})[0]
}

func (f *fixture) onCancelled(ctx context.Context, e sidecar.Event) error {
	return f.s.onOrdersCancelled(ctx, []sidecar.Event{e})[0]
}
