package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/invoke"
)

// fakeTickets is tickets as orders sees it through invoke: unreachable
// unless given tickets; it reserves a ticket for one order at a time.
type fakeTickets struct {
	mu       sync.Mutex
	tickets  map[string]invoke.Ticket // nil: unreachable
	released []string                 // "ticketID/orderID"
	// afterReserve, when set, runs after a reservation (once).
	afterReserve func()
}

func (f *fakeTickets) list(ts ...invoke.Ticket) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tickets = map[string]invoke.Ticket{}
	for _, t := range ts {
		f.tickets[t.ID] = t
	}
}

func (f *fakeTickets) Reserve(_ context.Context, ticketID, orderID string) (invoke.Ticket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tickets == nil {
		return invoke.Ticket{}, invoke.ErrUnreachable
	}
	t, ok := f.tickets[ticketID]
	switch {
	case !ok:
		return invoke.Ticket{}, refusal(http.StatusNotFound, "Not Found", "")
	case t.OrderID != "" && t.OrderID != orderID:
		return invoke.Ticket{}, refusal(http.StatusConflict, "Ticket is already reserved", t.OrderID)
	case t.OrderID == "":
		t.OrderID = orderID
		t.Version++
		f.tickets[ticketID] = t
	}
	if f.afterReserve != nil {
		defer f.afterReserve()
		f.afterReserve = nil
	}
	return t, nil
}

func (f *fakeTickets) Release(_ context.Context, ticketID, orderID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tickets == nil {
		return invoke.ErrUnreachable
	}
	f.released = append(f.released, ticketID+"/"+orderID)
	if t := f.tickets[ticketID]; t.OrderID == orderID {
		t.OrderID = ""
		t.Version++
		f.tickets[ticketID] = t
	}
	return nil
}

// edit changes a ticket as its seller's PUT would.
func (f *fakeTickets) edit(id, title string, price float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tickets[id]
	t.Title, t.Price = title, price
	t.Version++
	f.tickets[id] = t
}

// refusal is an owner's 4xx answer, as invoke returns it.
func refusal(status int, msg, heldBy string) error {
	var h invoke.Held
	h.HeldBy = heldBy
	h.Errors = append(h.Errors, struct {
		Message string `json:"message"`
	}{msg})
	b, _ := json.Marshal(h)
	code := map[int]apperr.Code{404: apperr.NotFound, 409: apperr.Conflict}[status]
	return &invoke.Refusal{Err: fmt.Errorf("owner: %w", &apperr.Error{Code: code, Message: msg}), Body: b}
}

// fakePayments answers Settle with outcome ("": unreachable).
type fakePayments struct {
	mu      sync.Mutex
	outcome string
	asked   int
}

func (f *fakePayments) Settle(context.Context, string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	if f.outcome == "" {
		return "", invoke.ErrUnreachable
	}
	return f.outcome, nil
}

func (f *fakePayments) settleWith(outcome string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outcome = outcome
}

func TestAnOrderTakesTheTicketAsItsOwnerReservedIt(t *testing.T) {
	t.Run("an edit orders has not heard of shows in the order", func(t *testing.T) {
		a := newTestApp(t)
		a.put(ticketKey("t1"), Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 0, UserID: "seller"})
		a.tickets.list(invoke.Ticket{ID: "t1", Title: "Concert (late show)", Price: 30, Version: 1, UserID: "seller"})
		o := a.placeOrder("t1", "buyer")
		want := OrderTicket{ID: "t1", Title: "Concert (late show)", Price: 30, Version: 2, UserID: "seller"}
		if o.Ticket != want {
			t.Errorf("order's ticket %+v, want %+v (as tickets reserved it)", o.Ticket, want)
		}
		if got := a.ticket("t1"); got.Price != 30 || got.Version != 2 || got.ReservedBy != o.ID {
			t.Errorf("copy %+v, want the reserved version held by %s", got, o.ID)
		}
		created := a.pub.Messages()[0].Data.(events.OrderCreatedEvent)
		if created.Ticket.Price != 30 {
			t.Errorf("order:created carries price %v, want 30", created.Ticket.Price)
		}
	})
	t.Run("a ticket orders has not heard of at all is ordered at once", func(t *testing.T) {
		a := newTestApp(t)
		a.tickets.list(invoke.Ticket{ID: "t9", Title: "Opera", Price: 45, Version: 0, UserID: "seller"})
		o := a.placeOrder("t9", "buyer")
		if o.Ticket.Price != 45 || o.Ticket.Version != 1 {
			t.Errorf("order's ticket %+v, want the ticket tickets reserved", o.Ticket)
		}
	})
	t.Run("tickets unreachable: the copy decides", func(t *testing.T) {
		a := newTestApp(t)
		a.put(ticketKey("t1"), concert)
		o := a.placeOrder("t1", "buyer")
		if o.Ticket.Price != concert.Price || o.Ticket.Version != concert.Version {
			t.Errorf("order's ticket %+v, want the copy's", o.Ticket)
		}
	})
	t.Run("a ticket tickets still shows held by an order cancelled here is released, then reserved", func(t *testing.T) {
		a := newTestApp(t)
		a.put(orderKey("o0"), Order{ID: "o0", UserID: "someone", Status: events.OrderStatusCancelled, Ticket: OrderTicket{ID: "t1"}})
		a.put(ticketKey("t1"), Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 2})
		a.tickets.list(invoke.Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 1, OrderID: "o0"})
		o := a.placeOrder("t1", "buyer")
		if len(a.tickets.released) != 1 || a.tickets.released[0] != "t1/o0" {
			t.Errorf("released %v, want t1/o0 first", a.tickets.released)
		}
		if o.Ticket.ID != "t1" {
			t.Errorf("order %+v", o)
		}
	})
	t.Run("a ticket another live order holds is refused", func(t *testing.T) {
		a := newTestApp(t)
		a.tickets.list(invoke.Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 1, OrderID: "o-other"})
		w := a.do(http.MethodPost, "/api/orders", `{"ticketId":"t1"}`, "buyer")
		if w.Code != http.StatusBadRequest || errorBody(t, w).Errors[0].Message != "Ticket is already reserved" {
			t.Errorf("status %d %s, want 400 Ticket is already reserved", w.Code, w.Body)
		}
	})
	t.Run("a ticket tickets does not have is not found", func(t *testing.T) {
		a := newTestApp(t)
		a.tickets.list()
		if w := a.do(http.MethodPost, "/api/orders", `{"ticketId":"nope"}`, "buyer"); w.Code != http.StatusNotFound {
			t.Errorf("status %d, want 404", w.Code)
		}
	})
	t.Run("an order that cannot be made frees what tickets reserved for it", func(t *testing.T) {
		a := newTestApp(t)
		// orders' copy comes to say another order holds it (one placed while
		// tickets was down) after tickets reserved: orders refuses, and lets go.
		a.put(ticketKey("t1"), Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 0})
		a.tickets.list(invoke.Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 0})
		a.tickets.afterReserve = func() {
			a.put(ticketKey("t1"), Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 0, ReservedBy: "o-fallback"})
		}
		w := a.do(http.MethodPost, "/api/orders", `{"ticketId":"t1"}`, "buyer")
		if w.Code != http.StatusBadRequest {
			t.Fatalf("status %d %s, want 400", w.Code, w.Body)
		}
		if len(a.tickets.released) != 1 {
			t.Errorf("released %v, want the reservation let go", a.tickets.released)
		}
	})
}
