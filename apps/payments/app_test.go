package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// testWebhookSecret is what the test app verifies webhook signatures with.
const testWebhookSecret = "whsec_test_secret"

// testApp is the whole service over the in-memory sidecar fakes, a fake
// charger and a real signing key: requests, webhooks and deliveries go through
// newServer as in production.
type testApp struct {
	t        *testing.T
	state    *sidecartest.State
	pub      *sidecartest.Publisher
	charger  *fakeCharger
	payments *paymentStore
	keys     *auth.Keys
	cfg      config
	h        http.Handler
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	state := sidecartest.NewState()
	return newTestAppOn(t, state, state)
}

// newTestAppOn serves over store, which may wrap fake to misbehave; fake is
// what the test inspects.
func newTestAppOn(t *testing.T, fake *sidecartest.State, st sidecar.State) *testApp {
	t.Helper()
	keys, err := auth.NewKeys([]byte("a-test-signing-key-of-32-bytes!!"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	pub := &sidecartest.Publisher{}
	payments := newPaymentStore(store.New(st, pub, log), 0)
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	charger := &fakeCharger{}
	return &testApp{
		t: t, state: fake, pub: pub, charger: charger, payments: payments, keys: keys, cfg: cfg,
		h: newServer(log, cfg, keys, payments, charger, testWebhookSecret),
	}
}

// pay posts a payment for orderID as userID with a test card token.
func (a *testApp) pay(orderID, userID string) *httptest.ResponseRecorder {
	a.t.Helper()
	return a.do(http.MethodPost, "/api/payments", `{"token":"tok_visa","orderId":"`+orderID+`"}`, userID)
}

// putOrder stores an order copy directly, as if order:created was applied.
func (a *testApp) putOrder(o Order) {
	a.t.Helper()
	if err := a.state.Transact(context.Background(), sidecar.Op{Key: orderKey(o.ID), Value: o}); err != nil {
		a.t.Fatal(err)
	}
}

// putPayment stores a payment directly.
func (a *testApp) putPayment(p Payment) {
	a.t.Helper()
	if err := a.state.Transact(context.Background(), sidecar.Op{Key: paymentKey(p.OrderID), Value: p}); err != nil {
		a.t.Fatal(err)
	}
}

// order reads an order copy back; found is false if there is none.
func (a *testApp) order(id string) (o Order, found bool) {
	a.t.Helper()
	it, err := a.state.Get(context.Background(), orderKey(id))
	if err != nil {
		a.t.Fatal(err)
	}
	if !it.Found() {
		return Order{}, false
	}
	if err := it.Decode(&o); err != nil {
		a.t.Fatal(err)
	}
	return o, true
}

// payment reads an order's payment back; found is false if there is none.
func (a *testApp) payment(orderID string) (p Payment, found bool) {
	a.t.Helper()
	it, err := a.state.Get(context.Background(), paymentKey(orderID))
	if err != nil {
		a.t.Fatal(err)
	}
	if !it.Found() {
		return Payment{}, false
	}
	if err := it.Decode(&p); err != nil {
		a.t.Fatal(err)
	}
	return p, true
}

// published returns the events published so far, in order.
func (a *testApp) published() []events.Message { return a.pub.Messages() }

// fakeCharger records every charge, with its context's deadline and error
// at the time of the call, and answers with answer, or with a charge id
// "ch_<n>" (n counting from 1) when answer is nil.
type fakeCharger struct {
	mu        sync.Mutex
	calls     []Charge
	deadlines []time.Time
	ctxErrs   []error
	answer    func(n int, c Charge) (string, error)
	refunds   []Refund
}

func (f *fakeCharger) charge(ctx context.Context, c Charge) (string, error) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	deadline, _ := ctx.Deadline()
	f.deadlines = append(f.deadlines, deadline)
	f.ctxErrs = append(f.ctxErrs, ctx.Err())
	n, answer := len(f.calls), f.answer
	f.mu.Unlock()
	if answer != nil {
		return answer(n, c)
	}
	return fmt.Sprintf("ch_%d", n), nil
}

func (f *fakeCharger) refund(_ context.Context, r Refund) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refunds = append(f.refunds, r)
	return nil
}

func (f *fakeCharger) charges() []Charge {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Charge(nil), f.calls...)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// errorBody decodes the original's error shape.
func errorBody(t *testing.T, w *httptest.ResponseRecorder) web.ErrorBody {
	t.Helper()
	var b web.ErrorBody
	if err := json.NewDecoder(w.Body).Decode(&b); err != nil {
		t.Fatalf("error body: %v", err)
	}
	return b
}

// errorMessages lists an error body's messages, with their field if any.
func errorMessages(t *testing.T, w *httptest.ResponseRecorder) []string {
	t.Helper()
	var msgs []string
	for _, e := range errorBody(t, w).Errors {
		if e.Field != "" {
			msgs = append(msgs, e.Field+": "+e.Message)
		} else {
			msgs = append(msgs, e.Message)
		}
	}
	return msgs
}

// failingState fails every call with err, like a sidecar that is down.
type failingState struct {
	*sidecartest.State
	err error
}

func (s failingState) Get(context.Context, string) (sidecar.Item, error) {
	return sidecar.Item{}, s.err
}
func (s failingState) Transact(context.Context, ...sidecar.Op) error { return s.err }

// hookedState runs before[n] just before its n-th write (counting from 1)
// and after[n] just after it, to put another change between a handler's
// steps. The hooks write to the embedded fake directly.
type hookedState struct {
	*sidecartest.State
	mu     sync.Mutex
	writes int
	before map[int]func()
	after  map[int]func()
}

func (s *hookedState) Transact(ctx context.Context, ops ...sidecar.Op) error {
	s.mu.Lock()
	s.writes++
	n := s.writes
	s.mu.Unlock()
	if f := s.before[n]; f != nil {
		f()
	}
	err := s.State.Transact(ctx, ops...)
	if f := s.after[n]; f != nil {
		f()
	}
	return err
}

// conflictingState loses every write race, for ever.
type conflictingState struct {
	*sidecartest.State
}

func (s conflictingState) Transact(context.Context, ...sidecar.Op) error {
	return fmt.Errorf("write: %w", sidecar.ErrConflict)
}

// do sends a request, signed in as userID unless it is "".
func (a *testApp) do(method, path, body, userID string) *httptest.ResponseRecorder {
	a.t.Helper()
	return sidecartest.Request(a.t, a.h, a.keys, method, path, body, userID)
}

// deliver hands one event to its route and returns SUCCESS, RETRY or DROP.
func (a *testApp) deliver(m events.Message) string {
	a.t.Helper()
	return sidecartest.Deliver(a.t, a.h, m)
}

func (a *testApp) deliverRaw(topic events.Topic, id, data string) string {
	a.t.Helper()
	return sidecartest.DeliverRaw(a.t, a.h, topic, id, data)
}

// settle delivers msgs, redelivering every RETRY, until all are acknowledged.
func (a *testApp) settle(msgs ...events.Message) {
	a.t.Helper()
	sidecartest.Settle(a.t, a.h, msgs...)
}
