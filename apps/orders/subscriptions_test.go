package main

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

func ticketCreated() events.Message {
	return events.TicketCreatedEvent{ID: "t1", Version: 0, Title: "Concert", Price: 20, UserID: "seller"}.Message()
}

func ticketUpdated(version int64, title string) events.Message {
	return events.TicketUpdatedEvent{ID: "t1", Version: version, Title: title, Price: 20 + float64(version), UserID: "seller"}.Message()
}

// pending is an order waiting for payment, as placed by POST /api/orders.
var pending = Order{ID: "o1", UserID: "buyer", Status: events.OrderStatusCreated,
	ExpiresAt: time.Date(2026, 11, 25, 12, 15, 0, 0, time.UTC), CreatedAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
	Ticket: OrderTicket{ID: "t1", Title: "Concert", Price: 20, Version: 0}}

// withPendingOrder is an app in which pending holds ticket t1.
func withPendingOrder(t *testing.T) *testApp {
	a := newTestApp(t)
	a.put(ticketKey("t1"), Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 0, ReservedBy: "o1"})
	a.put(orderKey("o1"), pending)
	return a
}

func expired() events.Message {
	return events.ExpirationCompleteEvent{OrderID: "o1"}.Message()
}

func paid() events.Message {
	return events.PaymentCreatedEvent{ID: "p1", OrderID: "o1", StripeID: "ch_1"}.Message()
}

func TestTicketCreatedMakesTheCopy(t *testing.T) {
	a := newTestApp(t)
	if got := a.deliver(ticketCreated()); got != "SUCCESS" {
		t.Fatalf("answered %s, want SUCCESS", got)
	}
	if got, want := a.ticket("t1"), (Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 0, UserID: "seller"}); got != want {
		t.Errorf("copy = %+v, want %+v", got, want)
	}
	if got := a.published(); len(got) != 0 {
		t.Errorf("published %v, want nothing: read-model writes are silent", got)
	}
}

func TestTicketUpdatedKeepsTheReservation(t *testing.T) {
	// tickets announces its own reservation with the orderId; orders' copy
	// keeps its own reservedBy, whatever the event says.
	a := withPendingOrder(t)
	ev := events.TicketUpdatedEvent{ID: "t1", Version: 1, Title: "Concert", Price: 20, UserID: "seller", OrderID: "o1"}.Message()
	if got := a.deliver(ev); got != "SUCCESS" {
		t.Fatalf("answered %s, want SUCCESS", got)
	}
	release := events.TicketUpdatedEvent{ID: "t1", Version: 2, Title: "Concert", Price: 20, UserID: "seller"}.Message()
	if got := a.deliver(release); got != "SUCCESS" {
		t.Fatalf("answered %s, want SUCCESS", got)
	}
	if got, want := a.ticket("t1"), (Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 2, UserID: "seller", ReservedBy: "o1"}); got != want {
		t.Errorf("copy = %+v, want %+v", got, want)
	}
}

// TestTicketEventsTwiceAndOutOfOrder delivers each case's events as a broker
// might (redelivered, reordered, every RETRY redelivered after the rest) and
// checks that the copy ends exactly as after one delivery of each, in order.
func TestTicketEventsTwiceAndOutOfOrder(t *testing.T) {
	c, u1, u2, u3 := ticketCreated(), ticketUpdated(1, "One"), ticketUpdated(2, "Two"), ticketUpdated(3, "Three")
	tests := []struct {
		name     string
		arrivals []events.Message
		inOrder  []events.Message
	}{
		{"ticket:created twice", []events.Message{c, c}, []events.Message{c}},
		{"ticket:created after an update of it", []events.Message{u1, c}, []events.Message{c, u1}},
		{"ticket:updated twice", []events.Message{c, u1, u1}, []events.Message{c, u1}},
		{"updates in reverse", []events.Message{c, u3, u2, u1}, []events.Message{c, u1, u2, u3}},
		{"everything twice, backwards", []events.Message{u3, u2, u1, c, u3, u2, u1, c}, []events.Message{c, u1, u2, u3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := newTestApp(t)
			for _, m := range tt.inOrder {
				if got := want.deliver(m); got != "SUCCESS" {
					t.Fatalf("in order: %s answered %s", m.ID, got)
				}
			}
			got := newTestApp(t)
			got.settle(tt.arrivals...)
			if g, w := got.ticket("t1"), want.ticket("t1"); g != w {
				t.Errorf("copy = %+v, want %+v", g, w)
			}
		})
	}
}

func TestTicketEventOutcomes(t *testing.T) {
	tests := []struct {
		name  string
		topic events.Topic
		data  string
		want  string
	}{
		{"ticket:updated before its ticket:created", events.TicketUpdated, `{"id":"t9","version":1,"title":"X","price":1,"userId":"u"}`, "RETRY"},
		{"ticket:updated after a gap", events.TicketUpdated, `{"id":"t1","version":2,"title":"X","price":1,"userId":"u"}`, "RETRY"},
		{"ticket:created that does not decode", events.TicketCreated, `{"id":"t2","price":"free"}`, "DROP"},
		{"ticket:updated that does not decode", events.TicketUpdated, `[]`, "DROP"},
		{"ticket:created without an id", events.TicketCreated, `{"version":0,"title":"X","price":1}`, "DROP"},
		{"ticket:updated without an id", events.TicketUpdated, `{"version":1,"title":"X","price":1}`, "DROP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			a.settle(ticketCreated())
			before := a.state.Keys()
			if got := a.deliverRaw(tt.topic, "e1", tt.data); got != tt.want {
				t.Errorf("answered %s, want %s", got, tt.want)
			}
			if got := a.state.Keys(); !slices.Equal(got, before) {
				t.Errorf("keys = %v, want them unchanged: %v", got, before)
			}
			if got, want := a.ticket("t1"), (Ticket{ID: "t1", Title: "Concert", Price: 20, UserID: "seller"}); got != want {
				t.Errorf("copy = %+v, want it unchanged: %+v", got, want)
			}
		})
	}
}

func TestExpirationCancelsAnUnpaidOrder(t *testing.T) {
	a := withPendingOrder(t)
	if got := a.deliver(expired()); got != "SUCCESS" {
		t.Fatalf("answered %s, want SUCCESS", got)
	}
	want := pending
	want.Status, want.Version = events.OrderStatusCancelled, 1
	if got := a.order("o1"); got != want {
		t.Errorf("order = %+v, want %+v", got, want)
	}
	if got := a.ticket("t1").ReservedBy; got != "" {
		t.Errorf("ticket reserved by %q, want free", got)
	}
	wantEvents := []events.Message{events.OrderCancelledEvent{ID: "o1", Version: 1, Ticket: events.OrderTicket{ID: "t1"}}.Message()}
	if got := a.pub.Messages(); !slices.Equal(got, wantEvents) {
		t.Errorf("published %+v, want %+v", got, wantEvents)
	}
}

func TestPaymentCompletesTheOrder(t *testing.T) {
	a := withPendingOrder(t)
	if got := a.deliver(paid()); got != "SUCCESS" {
		t.Fatalf("answered %s, want SUCCESS", got)
	}
	want := pending
	want.Status, want.Version = events.OrderStatusComplete, 1
	if got := a.order("o1"); got != want {
		t.Errorf("order = %+v, want %+v", got, want)
	}
	if got := a.ticket("t1").ReservedBy; got != "o1" {
		t.Errorf("ticket reserved by %q, want still o1: a sold ticket stays taken", got)
	}
	if got := a.published(); len(got) != 0 {
		t.Errorf("published %v, want nothing (as the original)", got)
	}
}

// TestOrderEventsTwice delivers expiration:complete and payment:created twice
// and in both orders: the end is the one of the first effective delivery.
func TestOrderEventsTwice(t *testing.T) {
	tests := []struct {
		name     string
		arrivals []events.Message
		inOrder  []events.Message
	}{
		{"expiration:complete twice", []events.Message{expired(), expired()}, []events.Message{expired()}},
		{"payment:created twice", []events.Message{paid(), paid()}, []events.Message{paid()}},
		{"expiry after payment, each twice: a paid order is never cancelled", []events.Message{paid(), expired(), paid(), expired()}, []events.Message{paid()}},
		{"payment after expiry, each twice: the order stays cancelled", []events.Message{expired(), paid(), expired(), paid()}, []events.Message{expired()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := withPendingOrder(t)
			for _, m := range tt.inOrder {
				if got := want.deliver(m); got != "SUCCESS" {
					t.Fatalf("once: %s answered %s", m.ID, got)
				}
			}
			got := withPendingOrder(t)
			for _, m := range tt.arrivals {
				if s := got.deliver(m); s != "SUCCESS" {
					t.Fatalf("%s answered %s, want SUCCESS", m.ID, s)
				}
			}
			if g, w := got.order("o1"), want.order("o1"); g != w {
				t.Errorf("order = %+v, want %+v", g, w)
			}
			if g, w := got.ticket("t1"), want.ticket("t1"); g != w {
				t.Errorf("ticket = %+v, want %+v", g, w)
			}
			if g, w := got.published(), want.published(); !slices.Equal(g, w) {
				t.Errorf("published %v, want %v", g, w)
			}
		})
	}
}

func TestPaymentForACancelledOrderIsLogged(t *testing.T) {
	// A charge that landed after expiry is refunded by payments (when it
	// applies the order:cancelled): acknowledged here, and logged.
	var logs bytes.Buffer
	fake := sidecartest.NewState()
	a := newTestAppOn(t, fake, fake)
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a.put(orderKey("o1"), Order{ID: "o1", UserID: "buyer", Status: events.OrderStatusCancelled, Version: 1, Ticket: OrderTicket{ID: "t1"}})
	h := handlePaymentCreated(log, newOrderStore(store.New(fake, a.pub, log), &fakeTickets{}, &fakePayments{}, time.Minute))
	ev := delivery.Event{ID: paid().ID, Topic: string(events.PaymentCreated), Data: []byte(mustJSON(t, paid().Data))}
	if err := h(t.Context(), []delivery.Event{ev})[0]; err != nil {
		t.Fatalf("handler = %v, want nil (SUCCESS)", err)
	}
	if got := logs.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "refunds it") || !strings.Contains(got, "ch_1") {
		t.Errorf("log = %q, want a warning naming the refund and the charge", got)
	}
	if got := a.order("o1").Status; got != events.OrderStatusCancelled {
		t.Errorf("status = %s, want cancelled", got)
	}
}

func TestOrderEventOutcomes(t *testing.T) {
	tests := []struct {
		name  string
		topic events.Topic
		data  string
		want  string
	}{
		{"expiration:complete of an unknown order", events.ExpirationComplete, `{"orderId":"nope"}`, "DROP"},
		{"expiration:complete without an order id", events.ExpirationComplete, `{}`, "DROP"},
		{"expiration:complete that does not decode", events.ExpirationComplete, `{"orderId":1}`, "DROP"},
		{"payment:created of an unknown order", events.PaymentCreated, `{"id":"p1","orderId":"nope","stripeId":"ch_1"}`, "DROP"},
		{"payment:created that does not decode", events.PaymentCreated, `"p1"`, "DROP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := withPendingOrder(t)
			if got := a.deliverRaw(tt.topic, "e1", tt.data); got != tt.want {
				t.Errorf("answered %s, want %s", got, tt.want)
			}
			if got := a.order("o1"); got != pending {
				t.Errorf("order = %+v, want it unchanged", got)
			}
		})
	}
}

func TestOrderEventsWhenTheStoreFails(t *testing.T) {
	for _, m := range []events.Message{expired(), paid(), ticketUpdated(1, "One")} {
		t.Run(string(m.Topic)+" losing every race is a RETRY", func(t *testing.T) {
			fake := sidecartest.NewState()
			st := &conflictingState{State: fake}
			a := newTestAppOn(t, fake, st)
			a.put(ticketKey("t1"), Ticket{ID: "t1", Title: "Concert", Price: 20, ReservedBy: "o1"})
			a.put(orderKey("o1"), pending)
			if got := a.deliver(m); got != "RETRY" {
				t.Errorf("answered %s, want RETRY", got)
			}
			if st.writes != store.Attempts {
				t.Errorf("tried %d writes, want %d", st.writes, store.Attempts)
			}
		})
	}
	t.Run("the store down is a RETRY", func(t *testing.T) {
		a := newTestApp(t)
		a.state.FailNext = sidecar.ErrUnavailable
		if got := a.deliver(ticketCreated()); got != "RETRY" {
			t.Errorf("answered %s, want RETRY", got)
		}
	})
}
