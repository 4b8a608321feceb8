package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// concert is the ticket copy most handler tests order.
var concert = Ticket{ID: "t1", Title: "Concert", Price: 20.5, Version: 1}

func decodeOrder(t *testing.T, body []byte) Order {
	t.Helper()
	var o Order
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatalf("order body %s: %v", body, err)
	}
	return o
}

// placeOrder orders a ticket as userID and returns the new order.
func (a *testApp) placeOrder(ticketID, userID string) Order {
	a.t.Helper()
	w := a.do(http.MethodPost, "/api/orders", `{"ticketId":"`+ticketID+`"}`, userID)
	if w.Code != http.StatusCreated {
		a.t.Fatalf("POST /api/orders: status %d, want 201; body %s", w.Code, w.Body)
	}
	return decodeOrder(a.t, w.Body.Bytes())
}

func TestSignedOutIsRefusedEverywhere(t *testing.T) {
	a := newTestApp(t)
	for _, route := range []struct{ method, path string }{
		{http.MethodPost, "/api/orders"},
		{http.MethodGet, "/api/orders"},
		{http.MethodGet, "/api/orders/o1"},
		{http.MethodDelete, "/api/orders/o1"},
	} {
		t.Run(route.method+" "+route.path, func(t *testing.T) {
			w := a.do(route.method, route.path, `{"ticketId":"t1"}`, "")
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401", w.Code)
			}
			if got, want := errorBody(t, w).Errors, []web.ErrorItem{{Message: "Not authorized"}}; !slices.Equal(got, want) {
				t.Errorf("errors = %+v, want %+v", got, want)
			}
		})
	}
}

func TestCreateOrder(t *testing.T) {
	t.Run("takes the ticket, indexes the order and announces it", func(t *testing.T) {
		a := newTestApp(t)
		a.put(ticketKey("t1"), concert)
		before := time.Now()
		w := a.do(http.MethodPost, "/api/orders", `{"ticketId":" t1 "}`, "buyer")
		after := time.Now()
		if w.Code != http.StatusCreated {
			t.Fatalf("status = %d, want 201; body %s", w.Code, w.Body)
		}
		var fields map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &fields); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"id", "userId", "status", "expiresAt", "ticket", "version"} {
			if _, ok := fields[name]; !ok {
				t.Errorf("body %s has no %q", w.Body, name)
			}
		}
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(fields["expiresAt"])); err != nil {
			t.Errorf("expiresAt %v is not RFC 3339: %v", fields["expiresAt"], err)
		}

		o := decodeOrder(t, w.Body.Bytes())
		want := Order{ID: o.ID, UserID: "buyer", Status: events.OrderStatusCreated, ExpiresAt: o.ExpiresAt,
			Ticket: OrderTicket{ID: "t1", Title: "Concert", Price: 20.5, Version: 1}, CreatedAt: o.CreatedAt}
		if o != want || len(o.ID) != 24 {
			t.Errorf("order = %+v, want %+v with a 24-digit id", o, want)
		}
		window := 15 * time.Minute
		if lo, hi := before.Add(window).Truncate(time.Millisecond), after.Add(window); o.ExpiresAt.Before(lo) || o.ExpiresAt.After(hi) {
			t.Errorf("expiresAt = %v, want between %v and %v", o.ExpiresAt, lo, hi)
		}
		if got := a.order(o.ID); got != o {
			t.Errorf("stored order = %+v, want %+v", got, o)
		}
		if got := a.ticket("t1").ReservedBy; got != o.ID {
			t.Errorf("ticket reserved by %q, want %q", got, o.ID)
		}
		var idx userOrders
		a.read(userOrdersKey("buyer"), &idx)
		if !slices.Equal(idx.OrderIDs, []string{o.ID}) {
			t.Errorf("index = %v, want [%s]", idx.OrderIDs, o.ID)
		}
		wantEvents := []events.Message{events.OrderCreatedEvent{ID: o.ID, Version: 0, Status: events.OrderStatusCreated, UserID: "buyer",
			ExpiresAt: o.ExpiresAt, Ticket: events.OrderTicket{ID: "t1", Price: 20.5}}.Message()}
		if got := a.pub.Messages(); !slices.Equal(got, wantEvents) {
			t.Errorf("published %+v, want %+v", got, wantEvents)
		}
	})

	t.Run("a buyer's orders are indexed oldest first", func(t *testing.T) {
		a := newTestApp(t)
		a.put(ticketKey("t1"), concert)
		a.put(ticketKey("t2"), Ticket{ID: "t2", Title: "Opera", Price: 30})
		o1, o2 := a.placeOrder("t1", "buyer"), a.placeOrder("t2", "buyer")
		var idx userOrders
		a.read(userOrdersKey("buyer"), &idx)
		if want := []string{o1.ID, o2.ID}; !slices.Equal(idx.OrderIDs, want) {
			t.Errorf("index = %v, want %v", idx.OrderIDs, want)
		}
	})

	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantErrors []web.ErrorItem
	}{
		{"no ticket id", `{}`, 400, []web.ErrorItem{{Message: "TicketId must be provided", Field: "ticketId"}}},
		{"a blank ticket id", `{"ticketId":"  "}`, 400, []web.ErrorItem{{Message: "TicketId must be provided", Field: "ticketId"}}},
		{"a ticket id as a number is its text", `{"ticketId":7}`, 404, []web.ErrorItem{{Message: "Not Found"}}},
		{"a ticket id that is an object", `{"ticketId":{"$ne":""}}`, 400, []web.ErrorItem{{Message: "TicketId must be provided", Field: "ticketId"}}},
		{"a ticket id with a NUL", `{"ticketId":"t1\u0000"}`, 400, []web.ErrorItem{{Message: "TicketId must be plain text of at most 1000 characters", Field: "ticketId"}}},
		{"an over-long ticket id", `{"ticketId":"` + strings.Repeat("t", 65) + `"}`, 400, []web.ErrorItem{{Message: "TicketId must be provided", Field: "ticketId"}}},
		{"an unknown ticket", `{"ticketId":"nope"}`, 404, []web.ErrorItem{{Message: "Not Found"}}},
		{"a reserved ticket", `{"ticketId":"t2"}`, 400, []web.ErrorItem{{Message: "Ticket is already reserved"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			a.put(ticketKey("t1"), concert)
			a.put(ticketKey("t2"), Ticket{ID: "t2", Title: "Opera", Price: 30, ReservedBy: "o0"})
			w := a.do(http.MethodPost, "/api/orders", tt.body, "buyer")
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if got := errorBody(t, w).Errors; !slices.Equal(got, tt.wantErrors) {
				t.Errorf("errors = %+v, want %+v", got, tt.wantErrors)
			}
			if n := len(a.pub.Messages()); n != 0 {
				t.Errorf("published %d events, want none", n)
			}
		})
	}

	t.Run("a ticket is free again once its order is cancelled", func(t *testing.T) {
		a := newTestApp(t)
		a.put(ticketKey("t1"), concert)
		first := a.placeOrder("t1", "buyer")
		if w := a.do(http.MethodPost, "/api/orders", `{"ticketId":"t1"}`, "other"); w.Code != http.StatusBadRequest {
			t.Fatalf("a second order while held: status %d, want 400", w.Code)
		}
		if w := a.do(http.MethodDelete, "/api/orders/"+first.ID, "", "buyer"); w.Code != http.StatusNoContent {
			t.Fatalf("DELETE: status %d, want 204", w.Code)
		}
		second := a.placeOrder("t1", "other")
		if got := a.ticket("t1").ReservedBy; got != second.ID {
			t.Errorf("ticket reserved by %q, want %q", got, second.ID)
		}
	})

	t.Run("races lost again and again are a 409", func(t *testing.T) {
		fake := sidecartest.NewState()
		st := &conflictingState{State: fake}
		a := newTestAppOn(t, fake, st)
		a.put(ticketKey("t1"), concert)
		w := a.do(http.MethodPost, "/api/orders", `{"ticketId":"t1"}`, "buyer")
		if w.Code != http.StatusConflict {
			t.Fatalf("status = %d, want 409", w.Code)
		}
		if st.writes != store.Attempts {
			t.Errorf("tried %d writes, want %d", st.writes, store.Attempts)
		}
	})

	t.Run("the store being down is a 503", func(t *testing.T) {
		a := newTestApp(t)
		a.put(ticketKey("t1"), concert)
		a.state.FailNext = sidecar.ErrUnavailable
		if w := a.do(http.MethodPost, "/api/orders", `{"ticketId":"t1"}`, "buyer"); w.Code != http.StatusServiceUnavailable {
			t.Errorf("status = %d, want 503", w.Code)
		}
	})
}

// barrierState holds every read of key, once read, until n reads have been
// made, so that n requests all see the same state before any of them writes:
// the race is then certain, not up to the scheduler. Reads after the n-th
// pass straight through.
type barrierState struct {
	*sidecartest.State
	key     string
	n       int
	mu      sync.Mutex
	arrived int
	open    chan struct{}
}

func newBarrierState(fake *sidecartest.State, key string, n int) *barrierState {
	return &barrierState{State: fake, key: key, n: n, open: make(chan struct{})}
}

func (s *barrierState) Get(ctx context.Context, key string) (sidecar.Item, error) {
	it, err := s.State.Get(ctx, key)
	if key != s.key {
		return it, err
	}
	s.mu.Lock()
	s.arrived++
	if s.arrived == s.n {
		close(s.open)
	}
	s.mu.Unlock()
	select {
	case <-s.open:
		return it, err
	case <-ctx.Done():
		return sidecar.Item{}, ctx.Err()
	}
}

// TestNoDoubleBooking sends many orders for one ticket at once, every one
// reading the ticket free before any writes: the fake's transactions are
// atomic with ETag checks, like the real store's, so exactly one may win.
func TestNoDoubleBooking(t *testing.T) {
	const buyers = 24
	for _, tt := range []struct {
		name  string
		buyer func(i int) string
	}{
		{"many buyers", func(i int) string { return fmt.Sprintf("buyer-%d", i) }},
		{"one buyer in many tabs", func(int) string { return "buyer" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := sidecartest.NewState()
			a := newTestAppOn(t, fake, newBarrierState(fake, ticketKey("t1"), buyers))
			a.put(ticketKey("t1"), concert)
			codes := make([]int, buyers)
			bodies := make([]string, buyers)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range buyers {
				wg.Go(func() {
					<-start
					w := a.do(http.MethodPost, "/api/orders", `{"ticketId":"t1"}`, tt.buyer(i))
					codes[i], bodies[i] = w.Code, w.Body.String()
				})
			}
			close(start)
			wg.Wait()

			var won []int
			for i, code := range codes {
				switch code {
				case http.StatusCreated:
					won = append(won, i)
				case http.StatusBadRequest:
					var b web.ErrorBody
					if err := json.Unmarshal([]byte(bodies[i]), &b); err != nil || len(b.Errors) != 1 || b.Errors[0].Message != "Ticket is already reserved" {
						t.Errorf("request %d: 400 %s, want Ticket is already reserved", i, bodies[i])
					}
				default:
					t.Errorf("request %d: status %d %s, want 201 or 400", i, code, bodies[i])
				}
			}
			if len(won) != 1 {
				t.Fatalf("%d orders won the ticket, want exactly 1", len(won))
			}
			winner := decodeOrder(t, []byte(bodies[won[0]]))
			if got := a.ticket("t1").ReservedBy; got != winner.ID {
				t.Errorf("ticket reserved by %q, want the winner %q", got, winner.ID)
			}
			if got, want := a.published(), []string{"order:created/" + winner.ID + "/0"}; !slices.Equal(got, want) {
				t.Errorf("published %v, want %v", got, want)
			}
		})
	}
}

func TestListOrders(t *testing.T) {
	a := newTestApp(t)
	a.put(ticketKey("t1"), concert)
	a.put(ticketKey("t2"), Ticket{ID: "t2", Title: "Opera", Price: 30})
	a.put(ticketKey("t3"), Ticket{ID: "t3", Title: "Ballet", Price: 40})
	mine1, mine2 := a.placeOrder("t1", "buyer"), a.placeOrder("t2", "buyer")
	a.placeOrder("t3", "other")

	t.Run("the caller's orders, each with its ticket", func(t *testing.T) {
		w := a.do(http.MethodGet, "/api/orders", "", "buyer")
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200", w.Code)
		}
		var got []Order
		if err := json.NewDecoder(w.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		if want := []Order{mine1, mine2}; !slices.Equal(got, want) {
			t.Errorf("orders = %+v, want %+v", got, want)
		}
	})
	t.Run("none is an empty array", func(t *testing.T) {
		w := a.do(http.MethodGet, "/api/orders", "", "newcomer")
		if got := w.Body.String(); w.Code != http.StatusOK || got != "[]\n" {
			t.Errorf("got %d %q, want 200 []", w.Code, got)
		}
	})
}

func TestShowOrder(t *testing.T) {
	a := newTestApp(t)
	a.put(ticketKey("t1"), concert)
	o := a.placeOrder("t1", "buyer")
	tests := []struct {
		name       string
		path       string
		userID     string
		wantStatus int
	}{
		{"the buyer's own order", "/api/orders/" + o.ID, "buyer", 200},
		{"someone else's order", "/api/orders/" + o.ID, "intruder", 401},
		{"an unknown order", "/api/orders/nope", "buyer", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := a.do(http.MethodGet, tt.path, "", tt.userID)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if w.Code == http.StatusOK {
				if got := decodeOrder(t, w.Body.Bytes()); got != o {
					t.Errorf("order = %+v, want %+v", got, o)
				}
			}
		})
	}
}

func TestCancelOrder(t *testing.T) {
	// setup places an order and moves it to status.
	setup := func(t *testing.T, status events.OrderStatus) (*testApp, Order) {
		a := newTestApp(t)
		a.put(ticketKey("t1"), concert)
		o := a.placeOrder("t1", "buyer")
		if status != events.OrderStatusCreated {
			o.Status = status
			a.put(orderKey(o.ID), o)
		}
		return a, o
	}

	t.Run("cancels, frees the ticket and announces it", func(t *testing.T) {
		a, o := setup(t, events.OrderStatusCreated)
		w := a.do(http.MethodDelete, "/api/orders/"+o.ID, "", "buyer")
		if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
			t.Fatalf("got %d %q, want 204 and no body", w.Code, w.Body)
		}
		want := o
		want.Status, want.Version = events.OrderStatusCancelled, 1
		if got := a.order(o.ID); got != want {
			t.Errorf("order = %+v, want %+v", got, want)
		}
		if got := a.ticket("t1"); got != concert {
			t.Errorf("ticket = %+v, want it free: %+v", got, concert)
		}
		wantLast := events.OrderCancelledEvent{ID: o.ID, Version: 1, Ticket: events.OrderTicket{ID: "t1"}}.Message()
		if msgs := a.pub.Messages(); len(msgs) != 2 || msgs[1] != wantLast {
			t.Errorf("published %+v, want order:created then %+v", msgs, wantLast)
		}
	})

	tests := []struct {
		name       string
		status     events.OrderStatus
		path       func(Order) string
		userID     string
		wantStatus int
		wantErrors []web.ErrorItem
	}{
		{"an unknown order", events.OrderStatusCreated, func(Order) string { return "/api/orders/nope" }, "buyer", 404, []web.ErrorItem{{Message: "Not Found"}}},
		{"someone else's order", events.OrderStatusCreated, func(o Order) string { return "/api/orders/" + o.ID }, "intruder", 401, []web.ErrorItem{{Message: "Not authorized"}}},
		{"someone else's paid order: not theirs first", events.OrderStatusComplete, func(o Order) string { return "/api/orders/" + o.ID }, "intruder", 401, []web.ErrorItem{{Message: "Not authorized"}}},
		{"a paid order", events.OrderStatusComplete, func(o Order) string { return "/api/orders/" + o.ID }, "buyer", 400, []web.ErrorItem{{Message: "Cannot cancel a completed order"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, o := setup(t, tt.status)
			w := a.do(http.MethodDelete, tt.path(o), "", tt.userID)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if got := errorBody(t, w).Errors; !slices.Equal(got, tt.wantErrors) {
				t.Errorf("errors = %+v, want %+v", got, tt.wantErrors)
			}
			if got := a.order(o.ID); got != o {
				t.Errorf("order = %+v, want it unchanged", got)
			}
			if n := len(a.pub.Messages()); n != 1 {
				t.Errorf("published %d events, want only the order:created", n)
			}
		})
	}

	t.Run("a cancelled order is a 204 that publishes nothing", func(t *testing.T) {
		a, o := setup(t, events.OrderStatusCreated)
		a.do(http.MethodDelete, "/api/orders/"+o.ID, "", "buyer")
		before := a.published()
		w := a.do(http.MethodDelete, "/api/orders/"+o.ID, "", "buyer")
		if w.Code != http.StatusNoContent {
			t.Fatalf("status = %d, want 204", w.Code)
		}
		if got := a.published(); !slices.Equal(got, before) {
			t.Errorf("published %v, want nothing more than %v", got, before)
		}
	})

	t.Run("a cancellation racing a payment loses to it", func(t *testing.T) {
		fake := sidecartest.NewState()
		st := &interleavingState{State: fake}
		a := newTestAppOn(t, fake, st)
		a.put(ticketKey("t1"), concert)
		o := a.placeOrder("t1", "buyer")
		st.before = func() {
			if got := a.deliver(events.PaymentCreatedEvent{ID: "p1", OrderID: o.ID, StripeID: "ch_1"}.Message()); got != "SUCCESS" {
				t.Errorf("payment:created answered %s, want SUCCESS", got)
			}
		}
		w := a.do(http.MethodDelete, "/api/orders/"+o.ID, "", "buyer")
		if w.Code != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400 (paid)", w.Code)
		}
		if got := a.order(o.ID).Status; got != events.OrderStatusComplete {
			t.Errorf("status = %s, want complete", got)
		}
		if got := a.ticket("t1").ReservedBy; got != o.ID {
			t.Errorf("ticket reserved by %q, want the paid order %q", got, o.ID)
		}
	})
}

func TestHealth(t *testing.T) {
	a := newTestApp(t)
	if w := a.do(http.MethodGet, "/healthz", "", ""); w.Code != http.StatusOK {
		t.Errorf("GET /healthz: status %d, want 200", w.Code)
	}
}
