package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
)

func orderCreated(orderID string) events.Message {
	return events.OrderCreatedEvent{
		ID: orderID, Version: 0, Status: events.OrderStatusCreated, UserID: "buyer",
		ExpiresAt: time.Date(2026, 11, 25, 12, 15, 0, 0, time.UTC), Ticket: events.OrderTicket{ID: "t1", Price: 20.5},
	}.Message()
}

func orderCancelled(orderID string, version int64) events.Message {
	return events.OrderCancelledEvent{ID: orderID, Version: version, Ticket: events.OrderTicket{ID: "t1"}}.Message()
}

func TestOrderCreatedKeepsACopy(t *testing.T) {
	a := newTestApp(t)
	if got := a.deliver(orderCreated("o1")); got != "SUCCESS" {
		t.Fatalf("delivery answered %s, want SUCCESS", got)
	}
	want := Order{ID: "o1", UserID: "buyer", Price: 20.5, Status: events.OrderStatusCreated, Version: 0}
	if got, _ := a.order("o1"); got != want {
		t.Errorf("copy %+v, want %+v", got, want)
	}
	if got := a.published(); len(got) != 0 {
		t.Errorf("published %+v, want nothing", got)
	}
	// The copy is what the API pays for.
	if w := a.pay("o1", "buyer"); w.Code != http.StatusCreated {
		t.Errorf("paying the copied order: status %d, want 201", w.Code)
	}
}

func TestOrderCancelledMarksTheCopy(t *testing.T) {
	a := newTestApp(t)
	a.settle(orderCreated("o1"))
	if got := a.deliver(orderCancelled("o1", 1)); got != "SUCCESS" {
		t.Fatalf("delivery answered %s, want SUCCESS", got)
	}
	want := Order{ID: "o1", UserID: "buyer", Price: 20.5, Status: events.OrderStatusCancelled, Version: 1}
	if got, _ := a.order("o1"); got != want {
		t.Errorf("copy %+v, want %+v", got, want)
	}
	if got := a.published(); len(got) != 0 {
		t.Errorf("published %+v, want nothing", got)
	}
	w := a.pay("o1", "buyer")
	if w.Code != http.StatusBadRequest || len(a.charger.charges()) != 0 {
		t.Errorf("paying the cancelled order: status %d after %d charges, want 400 and none", w.Code, len(a.charger.charges()))
	}
}

// TestOrderEventsTwiceAndOutOfOrder delivers each case's events as a broker
// might (redelivered, reordered, every RETRY redelivered after the rest) and
// checks every copy ends as after one delivery of each, in order.
func TestOrderEventsTwiceAndOutOfOrder(t *testing.T) {
	cA, xA := orderCreated("oA"), orderCancelled("oA", 1)
	cB := orderCreated("oB")
	created := func(id string) Order {
		return Order{ID: id, UserID: "buyer", Price: 20.5, Status: events.OrderStatusCreated, Version: 0}
	}
	cancelled := func(id string) Order {
		return Order{ID: id, UserID: "buyer", Price: 20.5, Status: events.OrderStatusCancelled, Version: 1}
	}
	tests := []struct {
		name     string
		arrivals []events.Message
		want     []Order
	}{
		{"created twice", []events.Message{cA, cA}, []Order{created("oA")}},
		{"cancelled twice", []events.Message{cA, xA, xA}, []Order{cancelled("oA")}},
		{"cancelled before created", []events.Message{xA, cA}, []Order{cancelled("oA")}},
		{"created again after the cancellation", []events.Message{cA, xA, cA}, []Order{cancelled("oA")}},
		{"everything twice, backwards", []events.Message{xA, xA, cB, cA, cB, cA}, []Order{cancelled("oA"), created("oB")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			a.settle(tt.arrivals...)
			for _, want := range tt.want {
				if got, _ := a.order(want.ID); got != want {
					t.Errorf("copy %+v, want %+v", got, want)
				}
			}
			if got := a.published(); len(got) != 0 {
				t.Errorf("published %+v, want nothing", got)
			}
		})
	}
}

// TestOrderEventsAnswers pins each delivery's answer: RETRY is for an event
// that can apply later, DROP for one that never can.
func TestOrderEventsAnswers(t *testing.T) {
	tests := []struct {
		name   string
		before []events.Message
		topic  events.Topic
		data   string
		want   string
	}{
		{"a new order", nil, events.OrderCreated, mustJSON(t, orderCreated("o1").Data), "SUCCESS"},
		{"an order seen already", []events.Message{orderCreated("o1")}, events.OrderCreated, mustJSON(t, orderCreated("o1").Data), "SUCCESS"},
		{"a cancellation of an order not seen yet", nil, events.OrderCancelled, mustJSON(t, orderCancelled("o1", 1).Data), "RETRY"},
		{"a cancellation after a missing version", []events.Message{orderCreated("o1")}, events.OrderCancelled, mustJSON(t, orderCancelled("o1", 2).Data), "RETRY"},
		{"a cancellation applied already", []events.Message{orderCreated("o1"), orderCancelled("o1", 1)}, events.OrderCancelled, mustJSON(t, orderCancelled("o1", 1).Data), "SUCCESS"},
		{"a created payload that is not an object", nil, events.OrderCreated, `"o1"`, "DROP"},
		{"a created payload of the wrong shape", nil, events.OrderCreated, `{"id":1}`, "DROP"},
		{"a created order without a buyer", nil, events.OrderCreated, `{"id":"o1","version":0}`, "DROP"},
		{"a cancelled payload that is not an object", nil, events.OrderCancelled, `[]`, "DROP"},
		{"a cancellation without an order id", nil, events.OrderCancelled, `{"version":1}`, "DROP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			a.settle(tt.before...)
			if got := a.deliverRaw(tt.topic, "evt", tt.data); got != tt.want {
				t.Errorf("delivery answered %s, want %s", got, tt.want)
			}
		})
	}
}

func TestOrderEventsRetryWhileTheStoreIsDown(t *testing.T) {
	for _, m := range []events.Message{orderCreated("o1"), orderCancelled("o1", 1)} {
		t.Run(string(m.Topic), func(t *testing.T) {
			fake := sidecartest.NewState()
			a := newTestAppOn(t, fake, failingState{State: fake, err: fmt.Errorf("get: %w", sidecar.ErrUnavailable)})
			if got := a.deliver(m); got != "RETRY" {
				t.Errorf("delivery answered %s, want RETRY", got)
			}
		})
	}
}

// TestOrderCancelledRacingAnotherWrite: a write between the handler's read and
// its write makes it re-read, and it still applies once.
func TestOrderCancelledRacingAnotherWrite(t *testing.T) {
	fake := sidecartest.NewState()
	hooked := &hookedState{State: fake}
	a := newTestAppOn(t, fake, hooked)
	a.settle(orderCreated("o1"))
	o, _ := a.order("o1")
	hooked.before = map[int]func(){hooked.writes + 1: func() { a.putOrder(o) }} // same content, new ETag
	if got := a.deliver(orderCancelled("o1", 1)); got != "SUCCESS" {
		t.Fatalf("delivery answered %s, want SUCCESS", got)
	}
	if got, _ := a.order("o1"); got.Status != events.OrderStatusCancelled || got.Version != 1 {
		t.Errorf("copy %+v, want cancelled at version 1", got)
	}
}

func TestOrderCancelledRetriesWhileWritesKeepLosing(t *testing.T) {
	fake := sidecartest.NewState()
	a := newTestAppOn(t, fake, conflictingState{State: fake})
	a.putOrder(Order{ID: "o1", UserID: "buyer", Price: 20.5, Status: events.OrderStatusCreated})
	if got := a.deliver(orderCancelled("o1", 1)); got != "RETRY" {
		t.Errorf("delivery answered %s, want RETRY", got)
	}
}
