package main

import (
	"context"
	"encoding/json"
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

// testApp is the whole service over the in-memory sidecar fakes, with a real
// signing key: requests and deliveries go through newServer as in production.
type testApp struct {
	t     *testing.T
	state *sidecartest.State
	pub   *sidecartest.Publisher
	keys  *auth.Keys
	h     http.Handler
	// tickets and payments stand for the owners orders calls: unreachable
	// until a test gives them answers.
	tickets  *fakeTickets
	payments *fakePayments
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
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tickets, payments := &fakeTickets{}, &fakePayments{}
	orders := newOrderStore(store.New(st, pub, log), tickets, payments, cfg.PaymentLease)
	return &testApp{t: t, state: fake, pub: pub, keys: keys, h: newServer(log, cfg, keys, orders), tickets: tickets, payments: payments}
}

// put stores a value directly, as if written earlier.
func (a *testApp) put(key string, v any) {
	a.t.Helper()
	if err := a.state.Transact(context.Background(), sidecar.Op{Key: key, Value: v}); err != nil {
		a.t.Fatal(err)
	}
}

// read decodes a stored value; it fails the test if the key is missing.
func (a *testApp) read(key string, v any) {
	a.t.Helper()
	it, err := a.state.Get(context.Background(), key)
	if err != nil || !it.Found() {
		a.t.Fatalf("%s: found=%v err=%v", key, it.Found(), err)
	}
	if err := it.Decode(v); err != nil {
		a.t.Fatal(err)
	}
}

// order reads an order back as the API shows it (its trace aside: the end
// to end suite follows traces).
func (a *testApp) order(id string) Order {
	a.t.Helper()
	var o Order
	a.read(orderKey(id), &o)
	o.Trace = ""
	return o
}

func (a *testApp) ticket(id string) Ticket {
	a.t.Helper()
	var t Ticket
	a.read(ticketKey(id), &t)
	return t
}

// published returns the ids of the events published so far, in order.
func (a *testApp) published() []string {
	var ids []string
	for _, m := range a.pub.Messages() {
		ids = append(ids, m.ID)
	}
	return ids
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

// conflictingState loses every write race, for ever.
type conflictingState struct {
	*sidecartest.State
	mu     sync.Mutex
	writes int
}

func (s *conflictingState) Transact(context.Context, ...sidecar.Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return sidecar.ErrConflict
}

// interleavingState runs before once, just before the first write, to put
// another change between a handler's read and its write.
type interleavingState struct {
	*sidecartest.State
	before func()
}

func (s *interleavingState) Transact(ctx context.Context, ops ...sidecar.Op) error {
	if f := s.before; f != nil {
		s.before = nil
		f()
	}
	return s.State.Transact(ctx, ops...)
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
