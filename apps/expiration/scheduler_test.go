package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// fakeReminders records registered reminders like the Dapr scheduler keeps them.
type fakeReminders struct {
	mu     sync.Mutex
	due    map[string]time.Time // actor/id/name -> due
	calls  int
	failed bool
}

func (f *fakeReminders) register(_ context.Context, actor, id, name string, due time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failed {
		return errors.New("scheduler down")
	}
	f.due[actor+"/"+id+"/"+name] = due
	return nil
}

func (f *fakeReminders) pending() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.due {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type fixture struct {
	s     *scheduler
	state *sidecartest.State
	pub   *sidecartest.Publisher
	rem   *fakeReminders
	now   time.Time
}

// newFixture's clock starts on a slot boundary; waiting moves it on.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		state: sidecartest.NewState(),
		pub:   &sidecartest.Publisher{},
		rem:   &fakeReminders{due: map[string]time.Time{}},
		now:   time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config{RetryDelay: 5 * time.Second, SlotWidth: time.Second}
	f.s = newScheduler(log, store.New(f.state, f.pub, log), f.rem, cfg)
	f.s.now = func() time.Time { return f.now }
	f.s.wait = func(_ context.Context, t time.Time) error {
		if t.After(f.now) {
			f.now = t
		}
		return nil
	}
	return f
}

func created(t *testing.T, id string, expiresAt time.Time) delivery.Event {
	t.Helper()
	b, _ := json.Marshal(events.OrderCreatedEvent{ID: id, Status: events.OrderStatusCreated, ExpiresAt: expiresAt, Ticket: events.OrderTicket{ID: "t1", Price: 10}})
	return delivery.Event{ID: "order:created/" + id + "/0", Topic: string(events.OrderCreated), Data: b}
}

func cancelled(t *testing.T, id string) delivery.Event {
	t.Helper()
	b, _ := json.Marshal(events.OrderCancelledEvent{ID: id, Version: 1, Ticket: events.OrderTicket{ID: "t1"}})
	return delivery.Event{ID: "order:cancelled/" + id + "/1", Topic: string(events.OrderCancelled), Data: b}
}

// onCreated and onCancelled deliver one event, as a single delivery would.
func (f *fixture) onCreated(ctx context.Context, e delivery.Event) error {
	return f.s.onOrdersCreated(ctx, []delivery.Event{e})[0]
}

func (f *fixture) onCancelled(ctx context.Context, e delivery.Event) error {
	return f.s.onOrdersCancelled(ctx, []delivery.Event{e})[0]
}

func (f *fixture) expired() []string {
	var out []string
	for _, m := range f.pub.Messages() {
		if m.Topic == events.ExpirationComplete {
			out = append(out, m.Data.(events.ExpirationCompleteEvent).OrderID)
		}
	}
	return out
}

func (f *fixture) schedule(t *testing.T, id string) schedule {
	t.Helper()
	it, _ := f.state.Get(context.Background(), scheduleKey(id))
	var sc schedule
	if it.Found() {
		if err := it.Decode(&sc); err != nil {
			t.Fatal(err)
		}
	}
	return sc
}

func slotID(at time.Time) string { id, _ := slotOf(at, time.Second); return id }

func TestOrdersOfOneSlotShareItsRecordAndOneReminder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := f.now.Add(15 * time.Minute)
	batch := []delivery.Event{
		created(t, "o1", start.Add(100*time.Millisecond)),
		created(t, "o2", start.Add(900*time.Millisecond)),
		created(t, "o3", start.Add(1500*time.Millisecond)), // the next slot
	}
	for range 3 { // delivered three times
		for i, err := range f.s.onOrdersCreated(ctx, batch) {
			if err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
		}
	}
	want := []string{
		slotActor + "/" + slotID(start) + "/" + slotReminder,
		slotActor + "/" + slotID(start.Add(time.Second)) + "/" + slotReminder,
	}
	if got := f.rem.pending(); !slices.Equal(got, want) {
		t.Fatalf("reminders %v, want one per slot %v", got, want)
	}
	if got := f.rem.due[want[0]]; !got.Equal(start) {
		t.Errorf("slot reminder due %v, want the slot's start %v", got, start)
	}
	if f.rem.calls != 2 {
		t.Errorf("%d registrations, want 2 (a redelivery costs the scheduler nothing)", f.rem.calls)
	}
	it, _ := f.state.Get(ctx, slotKey(slotID(start)))
	var sl slot
	if err := it.Decode(&sl); err != nil || !slices.Equal(sl.Orders, []string{"o1", "o2"}) {
		t.Errorf("slot %+v (%v), want orders o1 and o2", sl, err)
	}
	if sc := f.schedule(t, "o2"); sc.Status != statusScheduled || !sc.ExpiresAt.Equal(start.Add(900*time.Millisecond)) {
		t.Errorf("o2 %+v, want scheduled at its deadline", sc)
	}
}

func TestASlotFiresEachOrderAtItsOwnDeadline(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := f.now.Add(time.Minute)
	deadlines := map[string]time.Duration{"o1": 100 * time.Millisecond, "o2": 400 * time.Millisecond, "o3": 900 * time.Millisecond}
	var batch []delivery.Event
	for id, d := range deadlines {
		batch = append(batch, created(t, id, start.Add(d)))
	}
	for _, err := range f.s.onOrdersCreated(ctx, batch) {
		if err != nil {
			t.Fatal(err)
		}
	}
	f.now = start // the slot's reminder fires at its start
	if err := f.s.fireSlot(ctx, slotID(start)); err != nil {
		t.Fatal(err)
	}
	if got := f.expired(); !slices.Equal(got, []string{"o1", "o2", "o3"}) {
		t.Fatalf("expired %v, want o1, o2, o3 in deadline order", got)
	}
	for id, d := range deadlines {
		if sc := f.schedule(t, id); sc.Status != statusFired || !sc.FiredAt.Equal(start.Add(d)) {
			t.Errorf("%s %+v, want fired at its deadline %v", id, sc, start.Add(d))
		}
	}
	if s := f.s.lateness.summary(); s.Count != 3 || s.Max != 0 {
		t.Errorf("lateness %+v, want three samples of 0 ms", s)
	}
	if it, _ := f.state.Get(ctx, slotKey(slotID(start))); it.Found() {
		t.Error("the slot is still there once all its orders fired")
	}
	// The reminder delivered again (the app died before answering) changes nothing.
	if err := f.s.fireSlot(ctx, slotID(start)); err != nil || len(f.expired()) != 3 {
		t.Errorf("second firing: %v, expired %v", err, f.expired())
	}
	if got := f.pub.Messages()[0].ID; got != "expiration:complete/o1" {
		t.Errorf("event id %q, want the deterministic expiration:complete/o1", got)
	}
}

func TestAnOrderWhoseSlotHasBegunGetsAReminderOfItsOwn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	deadline := f.now.Add(50 * time.Millisecond) // its slot began at f.now
	if err := f.onCreated(ctx, created(t, "late", deadline)); err != nil {
		t.Fatal(err)
	}
	want := orderActor + "/late/" + orderReminder
	if got := f.rem.pending(); !slices.Equal(got, []string{want}) || !f.rem.due[want].Equal(deadline) {
		t.Fatalf("reminders %v (due %v), want %s at %v", got, f.rem.due[want], want, deadline)
	}
	f.now = deadline.Add(3 * time.Millisecond)
	for range 2 { // a repeated firing
		if err := f.s.fire(ctx, "late"); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.expired(); !slices.Equal(got, []string{"late"}) {
		t.Errorf("expired %v, want late once", got)
	}
	// A late redelivery of order:created after the firing schedules nothing.
	before := f.rem.calls
	if err := f.onCreated(ctx, created(t, "late", deadline)); err != nil || f.rem.calls != before {
		t.Errorf("redelivery: %v, %d new registrations, want none", err, f.rem.calls-before)
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
			deadline := f.now.Add(time.Minute)
			for _, step := range tc.order {
				var err error
				switch step {
				case "created":
					err = f.onCreated(ctx, created(t, "o1", deadline))
				case "cancelled":
					err = f.onCancelled(ctx, cancelled(t, "o1"))
				case "fire":
					if err = f.s.fireSlot(ctx, slotID(deadline)); err == nil {
						err = f.s.fire(ctx, "o1")
					}
				}
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			if got := f.expired(); len(got) != 0 {
				t.Errorf("expired %v, want none", got)
			}
			if sc := f.schedule(t, "o1"); sc.Status != statusCancelled {
				t.Errorf("schedule %+v, want cancelled", sc)
			}
		})
	}
}

// A firing that cannot be saved fails the reminder's call, so that the
// scheduler delivers the reminder again (its failure policy, checked below);
// nothing is lost meanwhile, and the repeated delivery fires what is left.
func TestFiringThatCannotBeSavedFailsTheReminderAndItsRetryFires(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := f.now.Add(time.Minute)
	for _, id := range []string{"o1", "o2"} {
		if err := f.onCreated(ctx, created(t, id, start.Add(10*time.Millisecond))); err != nil {
			t.Fatal(err)
		}
	}
	registered := f.rem.calls
	f.now = start
	f.state.FailNext = errors.New("database down")
	if err := f.s.fireSlot(ctx, slotID(start)); err == nil {
		t.Fatal("fireSlot answered success with its firing unsaved; the scheduler would not deliver the reminder again")
	}
	if got := f.expired(); len(got) != 0 {
		t.Fatalf("expired %v with the store down, want none", got)
	}
	if it, _ := f.state.Get(ctx, slotKey(slotID(start))); !it.Found() {
		t.Fatal("the slot was deleted with its orders unfired")
	}
	if f.rem.calls != registered {
		t.Errorf("%d reminders registered on failure, want none (the reminder's own retries replace them)", f.rem.calls-registered)
	}
	// The scheduler's retry, once the store is back.
	f.now = start.Add(5 * time.Second)
	if err := f.s.fireSlot(ctx, slotID(start)); err != nil {
		t.Fatal(err)
	}
	if got := f.expired(); !slices.Equal(got, []string{"o1", "o2"}) {
		t.Errorf("expired %v, want o1 and o2 once", got)
	}
	if it, _ := f.state.Get(ctx, slotKey(slotID(start))); it.Found() {
		t.Error("the slot is still there once all its orders fired")
	}
	// An order's own reminder likewise.
	f.state.FailNext = errors.New("database down")
	if err := f.s.fire(ctx, "o3"); err == nil {
		t.Fatal("fire answered success with its firing unsaved")
	}
	if err := f.s.fire(ctx, "o3"); err != nil || !slices.Contains(f.expired(), "o3") {
		t.Errorf("the retried reminder: %v, expired %v, want o3 fired", err, f.expired())
	}
}

// Every reminder expiration registers is retried for ever, every
// REMINDER_RETRY_DELAY, when its delivery fails: the scheduler's default
// (four deliveries a second apart, then dropped) would lose an expiration
// whenever the app or its store is down for more than a few seconds.
func TestRemindersAreRetriedForEverAtTheRetryDelay(t *testing.T) {
	due := time.Date(2026, 11, 25, 12, 0, 0, 500_000_000, time.UTC)
	req := reminderRequest(slotActor, "1764072000000", slotReminder, due, 5*time.Second)
	if req.ActorType != slotActor || req.ActorID != "1764072000000" || req.Name != slotReminder || req.Period != "" {
		t.Errorf("request %+v, want a one-shot %s/1764072000000/%s", req, slotActor, slotReminder)
	}
	if req.DueTime != "2026-11-25T12:00:00.5Z" {
		t.Errorf("due %q, want the absolute deadline", req.DueTime)
	}
	if req.FailurePolicy == nil {
		t.Fatal("no failure policy: the scheduler would drop the reminder after four failed deliveries")
	}
	c := req.FailurePolicy.GetPBFailurePolicy().GetConstant()
	if c == nil {
		t.Fatalf("policy %v, want a constant one", req.FailurePolicy.GetPBFailurePolicy())
	}
	if c.MaxRetries != nil {
		t.Errorf("max retries %d, want none (for ever)", *c.MaxRetries)
	}
	if got := c.GetInterval().AsDuration(); got != 5*time.Second {
		t.Errorf("interval %v, want the retry delay 5s (zero would be a hot loop)", got)
	}
	if _, err := loadConfig(func(k string) string {
		if k == "REMINDER_RETRY_DELAY" {
			return "0s"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "REMINDER_RETRY_DELAY") {
		t.Errorf("REMINDER_RETRY_DELAY=0s: %v, want it refused (the scheduler would retry in a hot loop)", err)
	}
}

func TestASchedulerDownIsARetry(t *testing.T) {
	f := newFixture(t)
	f.rem.failed = true
	err := f.onCreated(context.Background(), created(t, "o1", f.now.Add(time.Minute)))
	if err == nil || delivery.IsDrop(err) {
		t.Fatalf("order:created with the scheduler down: %v, want a RETRY", err)
	}
	f.rem.failed = false
	if err := f.onCreated(context.Background(), created(t, "o1", f.now.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if got := f.rem.pending(); len(got) != 1 {
		t.Errorf("reminders %v after the redelivery, want the slot's", got)
	}
}

func TestMalformedEventsAreDropped(t *testing.T) {
	f := newFixture(t)
	bad := []delivery.Event{
		{ID: "x", Data: []byte(`{not json`)},
		{ID: "y", Data: []byte(`{"id":"o1"}`)}, // no expiresAt
	}
	for _, e := range bad {
		if err := f.onCreated(context.Background(), e); !delivery.IsDrop(err) {
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
		{"an order's reminder", "PUT", "/actors/OrderExpiration/o9/method/remind/expire", 200},
		{"a slot's reminder", "PUT", "/actors/ExpirationSlot/1764072000000/method/remind/due", 200},
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
	if !slices.Equal(cfg.Entities, []string{slotActor, orderActor}) {
		t.Errorf("entities %v, want [%s %s]", cfg.Entities, slotActor, orderActor)
	}
	if got := f.expired(); !slices.Equal(got, []string{"o9"}) {
		t.Errorf("expired %v after one order reminder, want [o9]", got)
	}
}

func TestADuplicateInTheSameBatchIsScheduledOnce(t *testing.T) {
	f := newFixture(t)
	deadline := f.now.Add(time.Minute)
	again := created(t, "o1", deadline)
	again.ID = "a-republished-copy"
	errs := f.s.onOrdersCreated(context.Background(), []delivery.Event{created(t, "o1", deadline), again, created(t, "o2", deadline)})
	for i, err := range errs {
		if err != nil {
			t.Errorf("event %d: %v", i, err)
		}
	}
	if sc := f.schedule(t, "o1"); sc.Status != statusScheduled {
		t.Errorf("o1 %+v, want scheduled", sc)
	}
}
