package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// listed is the ticket every subscription test starts from.
var listed = Ticket{ID: "t1", Title: "Concert", Price: 20, UserID: "seller", Version: 0, ListedAt: "2026-11-25T12:00:00.000000000Z", Listing: ForSale}

func orderCreated(orderID string) events.Message {
	return events.OrderCreatedEvent{ID: orderID, Status: events.OrderStatusCreated, UserID: "buyer", Ticket: events.OrderTicket{ID: "t1", Price: 20}}.Message()
}

func orderCancelled(orderID string) events.Message {
	return events.OrderCancelledEvent{ID: orderID, Version: 1, Ticket: events.OrderTicket{ID: "t1"}}.Message()
}

func TestOrderCreatedReservesTheTicket(t *testing.T) {
	a := newTestApp(t)
	a.put(listed)
	if got := a.deliver(orderCreated("o1")); got != "SUCCESS" {
		t.Fatalf("delivery answered %s, want SUCCESS", got)
	}
	want := listed
	want.OrderID, want.Listing, want.Version = "o1", Reserved, 1
	if got := a.ticket("t1"); got != want {
		t.Errorf("ticket = %+v, want %+v", got, want)
	}
	wantEvents := []events.Message{events.TicketUpdatedEvent{ID: "t1", Version: 1, Title: "Concert", Price: 20, UserID: "seller", OrderID: "o1"}.Message()}
	if got := a.pub.Messages(); !slices.Equal(got, wantEvents) {
		t.Errorf("published %+v, want %+v", got, wantEvents)
	}
}

func TestOrderCancelledFreesTheTicket(t *testing.T) {
	a := newTestApp(t)
	a.put(listed)
	a.settle(orderCreated("o1"))
	if got := a.deliver(orderCancelled("o1")); got != "SUCCESS" {
		t.Fatalf("delivery answered %s, want SUCCESS", got)
	}
	want := listed
	want.Version = 2
	if got := a.ticket("t1"); got != want {
		t.Errorf("ticket = %+v, want %+v", got, want)
	}
	wantLast := events.TicketUpdatedEvent{ID: "t1", Version: 2, Title: "Concert", Price: 20, UserID: "seller"}.Message()
	if msgs := a.pub.Messages(); len(msgs) != 2 || msgs[1] != wantLast {
		t.Errorf("published %+v, want the reservation then %+v", msgs, wantLast)
	}
	// The freed ticket is back in the listing.
	w := a.do(http.MethodGet, "/api/tickets", "", "")
	var page []ticketResponse
	if err := json.NewDecoder(w.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || page[0].ID != "t1" {
		t.Errorf("GET /api/tickets = %+v, want t1 listed", page)
	}
}

// TestOrderEventsTwiceAndOutOfOrder delivers each case's events as a broker
// might (redelivered, reordered across orders, every RETRY redelivered after
// the rest) and checks the ticket and the events published end exactly as
// after one delivery of each, in order.
func TestOrderEventsTwiceAndOutOfOrder(t *testing.T) {
	cA, xA := orderCreated("oA"), orderCancelled("oA")
	cB, xB := orderCreated("oB"), orderCancelled("oB")
	tests := []struct {
		name     string
		arrivals []events.Message
		inOrder  []events.Message
	}{
		{"order:created twice", []events.Message{cA, cA}, []events.Message{cA}},
		{"order:cancelled twice", []events.Message{cA, xA, xA}, []events.Message{cA, xA}},
		{"order:created again after its cancellation", []events.Message{cA, xA, cA}, []events.Message{cA, xA}},
		{"the next order before the previous one's cancellation", []events.Message{cA, cB, xA}, []events.Message{cA, xA, cB}},
		{"every event twice, shuffled", []events.Message{cA, cB, cA, xA, cB, xA}, []events.Message{cA, xA, cB}},
		{"two orders come and go, all twice, late", []events.Message{cA, cB, cA, xA, cB, xB, xA, xB}, []events.Message{cA, xA, cB, xB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := newTestApp(t)
			want.put(listed)
			for _, m := range tt.inOrder {
				if got := want.deliver(m); got != "SUCCESS" {
					t.Fatalf("in order: %s answered %s", m.ID, got)
				}
			}
			got := newTestApp(t)
			got.put(listed)
			got.settle(tt.arrivals...)

			if g, w := got.ticket("t1"), want.ticket("t1"); g != w {
				t.Errorf("ticket = %+v, want %+v", g, w)
			}
			if g, w := got.published(), want.published(); !slices.Equal(g, w) {
				t.Errorf("published %v, want %v", g, w)
			}
		})
	}
}

func TestOrderCancelledBeforeItsCreation(t *testing.T) {
	// The one order in which the end differs from in-order delivery, by
	// design: the order never held the ticket, so no version is spent and
	// nothing is announced; what matters, that the ticket is for sale, agrees.
	a := newTestApp(t)
	a.put(listed)
	for _, m := range []events.Message{orderCancelled("oA"), orderCreated("oA"), orderCreated("oA")} {
		if got := a.deliver(m); got != "SUCCESS" {
			t.Fatalf("%s answered %s, want SUCCESS", m.ID, got)
		}
	}
	if got := a.ticket("t1"); got != listed {
		t.Errorf("ticket = %+v, want it untouched: %+v", got, listed)
	}
	if got := a.published(); len(got) != 0 {
		t.Errorf("published %v, want nothing", got)
	}
	// A later order can still take it.
	a.settle(orderCreated("oB"))
	if got := a.ticket("t1"); got.OrderID != "oB" {
		t.Errorf("ticket held by %q, want oB", got.OrderID)
	}
}

func TestCancellationRacingItsCreation(t *testing.T) {
	// Two deliveries of one order, handled at the same time: whichever write
	// lands second must see the first. interleavingState puts the other
	// delivery between a handler's read and its write.
	t.Run("the cancellation lands between the creation's read and write", func(t *testing.T) {
		fake := sidecartest.NewState()
		st := &interleavingState{State: fake}
		a := newTestAppOn(t, fake, st)
		a.put(listed)
		st.before = func() {
			if got := a.deliver(orderCancelled("oA")); got != "SUCCESS" {
				t.Errorf("order:cancelled answered %s, want SUCCESS", got)
			}
		}
		if got := a.deliver(orderCreated("oA")); got != "SUCCESS" {
			t.Fatalf("order:created answered %s, want SUCCESS", got)
		}
		if got := a.ticket("t1"); got.Listing != ForSale || got.OrderID != "" {
			t.Errorf("ticket = %+v, want it for sale", got)
		}
		if got := a.published(); len(got) != 0 {
			t.Errorf("published %v, want nothing", got)
		}
	})
	t.Run("the creation lands between the cancellation's read and write", func(t *testing.T) {
		fake := sidecartest.NewState()
		st := &interleavingState{State: fake}
		a := newTestAppOn(t, fake, st)
		a.put(listed)
		st.before = func() {
			if got := a.deliver(orderCreated("oA")); got != "SUCCESS" {
				t.Errorf("order:created answered %s, want SUCCESS", got)
			}
		}
		if got := a.deliver(orderCancelled("oA")); got != "SUCCESS" {
			t.Fatalf("order:cancelled answered %s, want SUCCESS", got)
		}
		want := listed
		want.Version = 2
		if got := a.ticket("t1"); got != want {
			t.Errorf("ticket = %+v, want %+v", got, want)
		}
		if got, want := a.published(), []string{"ticket:updated/t1/1", "ticket:updated/t1/2"}; !slices.Equal(got, want) {
			t.Errorf("published %v, want %v", got, want)
		}
	})
}

func TestOrderEventOutcomes(t *testing.T) {
	heldByA := listed
	heldByA.OrderID, heldByA.Listing, heldByA.Version = "oA", Reserved, 1
	unknownTicket := events.OrderCreatedEvent{ID: "oA", Ticket: events.OrderTicket{ID: "nope"}}.Message()
	tests := []struct {
		name  string
		start Ticket
		topic events.Topic
		data  string
		want  string
	}{
		{"order:created for an unknown ticket", listed, events.OrderCreated, mustJSON(t, unknownTicket.Data), "DROP"},
		{"order:cancelled for an unknown ticket", listed, events.OrderCancelled, `{"id":"oA","version":1,"ticket":{"id":"nope"}}`, "DROP"},
		{"order:created that does not decode", listed, events.OrderCreated, `{"id":42}`, "DROP"},
		{"order:cancelled that does not decode", listed, events.OrderCancelled, `"oA"`, "DROP"},
		{"order:created without a ticket id", listed, events.OrderCreated, `{"id":"oA","version":0}`, "DROP"},
		{"order:cancelled without an order id", listed, events.OrderCancelled, `{"version":1,"ticket":{"id":"t1"}}`, "DROP"},
		{"order:created for a ticket another order holds", heldByA, events.OrderCreated, mustJSON(t, orderCreated("oB").Data), "RETRY"},
		{"order:cancelled of an order that never held it", heldByA, events.OrderCancelled, mustJSON(t, orderCancelled("oB").Data), "SUCCESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			a.put(tt.start)
			if got := a.deliverRaw(tt.topic, "e1", tt.data); got != tt.want {
				t.Errorf("answered %s, want %s", got, tt.want)
			}
			if got := a.ticket("t1"); got != tt.start {
				t.Errorf("ticket = %+v, want it unchanged: %+v", got, tt.start)
			}
		})
	}
}

func TestOrderEventsWhenTheStoreFails(t *testing.T) {
	t.Run("the store down is a RETRY", func(t *testing.T) {
		a := newTestApp(t)
		a.put(listed)
		a.state.FailNext = sidecar.ErrUnavailable
		if got := a.deliver(orderCreated("oA")); got != "RETRY" {
			t.Errorf("answered %s, want RETRY", got)
		}
		if got := a.ticket("t1"); got != listed {
			t.Errorf("ticket = %+v, want it unchanged", got)
		}
	})
	for _, m := range []events.Message{orderCreated("oA"), orderCancelled("oA")} {
		t.Run(string(m.Topic)+" losing every race is a RETRY", func(t *testing.T) {
			fake := sidecartest.NewState()
			st := &conflictingState{State: fake}
			a := newTestAppOn(t, fake, st)
			a.put(listed)
			if got := a.deliver(m); got != "RETRY" {
				t.Errorf("answered %s, want RETRY", got)
			}
			if st.writes != store.Attempts {
				t.Errorf("tried %d writes, want %d", st.writes, store.Attempts)
			}
		})
	}
}
