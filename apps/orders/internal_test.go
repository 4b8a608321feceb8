package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/invoke"
)

// call invokes an internal route as caller's sidecar would.
func (a *testApp) call(caller, path, body string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if caller != "" {
		r.Header.Set(invoke.CallerHeader, caller)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

// placed is a created order of buyer on t1, expiring in window.
func (a *testApp) placed(window time.Duration) Order {
	a.t.Helper()
	o := Order{ID: "o1", UserID: "buyer", Status: events.OrderStatusCreated, ExpiresAt: time.Now().Add(window),
		Ticket: OrderTicket{ID: "t1", Title: "Concert", Price: 20.5, Version: 1}}
	a.put(orderKey(o.ID), o)
	a.put(ticketKey("t1"), Ticket{ID: "t1", Title: "Concert", Price: 20.5, Version: 1, ReservedBy: o.ID})
	return o
}

func TestOnlyTheirSidecarsReachTheInternalRoutes(t *testing.T) {
	a := newTestApp(t)
	a.placed(time.Minute)
	for _, caller := range []string{"", "client", "tickets"} {
		if w := a.call(caller, "/internal/orders/o1/pay", `{"userId":"buyer"}`); w.Code != http.StatusNotFound {
			t.Errorf("caller %q: status %d, want 404", caller, w.Code)
		}
	}
	if a.order("o1").Status != events.OrderStatusCreated {
		t.Error("a refused call changed the order")
	}
}

func TestAPaymentHoldsTheOrder(t *testing.T) {
	t.Run("payable: held awaiting payment, with what to charge", func(t *testing.T) {
		a := newTestApp(t)
		a.placed(time.Minute)
		w := a.call("payments", "/internal/orders/o1/pay", `{"userId":"buyer"}`)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"price":20.5`) {
			t.Fatalf("status %d %s, want 200 with the price", w.Code, w.Body)
		}
		o := a.order("o1")
		if o.Status != events.OrderStatusAwaitingPayment || time.Until(o.PaymentUntil) < 40*time.Second {
			t.Errorf("order %+v, want awaiting:payment for the lease", o)
		}
		if len(a.pub.Messages()) != 0 {
			t.Errorf("published %v; the hold is orders' own", a.published())
		}
	})
	for _, tt := range []struct {
		name   string
		set    func(*Order)
		user   string
		status int
		msg    string
	}{
		{"someone else's", nil, "stranger", 401, "Not authorized"},
		{"cancelled", func(o *Order) { o.Status = events.OrderStatusCancelled }, "buyer", 400, "Cannot pay for an cancelled order"},
		{"past its deadline", func(o *Order) { o.ExpiresAt = time.Now().Add(-time.Second) }, "buyer", 400, "Cannot pay for an cancelled order"},
		{"paid", func(o *Order) { o.Status = events.OrderStatusComplete }, "buyer", 400, "Order has already been paid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			o := a.placed(time.Minute)
			if tt.set != nil {
				tt.set(&o)
				a.put(orderKey("o1"), o)
			}
			w := a.call("payments", "/internal/orders/o1/pay", `{"userId":"`+tt.user+`"}`)
			if w.Code != tt.status || errorBody(t, w).Errors[0].Message != tt.msg {
				t.Errorf("status %d %s, want %d %s", w.Code, w.Body, tt.status, tt.msg)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		a := newTestApp(t)
		if w := a.call("payments", "/internal/orders/nope/pay", `{"userId":"buyer"}`); w.Code != http.StatusNotFound {
			t.Errorf("status %d, want 404", w.Code)
		}
	})
}

func TestACancelWaitsForThePaymentInFlight(t *testing.T) {
	hold := func(a *testApp) {
		if w := a.call("payments", "/internal/orders/o1/pay", `{"userId":"buyer"}`); w.Code != 200 {
			t.Fatalf("pay: %d %s", w.Code, w.Body)
		}
	}
	t.Run("refused while the payment is in flight", func(t *testing.T) {
		a := newTestApp(t)
		a.placed(time.Minute)
		hold(a)
		w := a.do(http.MethodDelete, "/api/orders/o1", "", "buyer")
		if w.Code != http.StatusBadRequest || errorBody(t, w).Errors[0].Message != "Cannot cancel an order while it is being paid" {
			t.Errorf("status %d %s, want 400", w.Code, w.Body)
		}
		if a.order("o1").Status != events.OrderStatusAwaitingPayment || len(a.pub.Messages()) != 0 {
			t.Error("the refused cancel changed something")
		}
	})
	t.Run("a payment that took no money makes it payable, and cancellable, again", func(t *testing.T) {
		a := newTestApp(t)
		a.placed(time.Minute)
		hold(a)
		if w := a.call("payments", "/internal/orders/o1/unpaid", `{}`); w.Code != 200 {
			t.Fatalf("unpaid: %d %s", w.Code, w.Body)
		}
		if a.order("o1").Status != events.OrderStatusCreated {
			t.Fatalf("order %+v, want created", a.order("o1"))
		}
		if w := a.do(http.MethodDelete, "/api/orders/o1", "", "buyer"); w.Code != http.StatusNoContent {
			t.Errorf("cancel: %d %s", w.Code, w.Body)
		}
	})
	t.Run("a payment that took no money after the deadline cancels the order", func(t *testing.T) {
		a := newTestApp(t)
		o := a.placed(time.Minute)
		hold(a)
		o = a.order("o1")
		o.ExpiresAt = time.Now().Add(-time.Millisecond)
		a.put(orderKey("o1"), o)
		a.call("payments", "/internal/orders/o1/unpaid", `{}`)
		if got := a.order("o1"); got.Status != events.OrderStatusCancelled || a.ticket("t1").ReservedBy != "" {
			t.Errorf("order %+v, ticket %+v; want cancelled and freed", got, a.ticket("t1"))
		}
		if ids := a.published(); len(ids) != 1 || ids[0] != "order:cancelled/o1/1" {
			t.Errorf("published %v, want order:cancelled", ids)
		}
	})
	t.Run("a paid order completes; paying a cancelled one is a conflict", func(t *testing.T) {
		a := newTestApp(t)
		a.placed(time.Minute)
		hold(a)
		if w := a.call("payments", "/internal/orders/o1/paid", `{"paymentId":"p1","stripeId":"pi_1"}`); w.Code != 200 {
			t.Fatalf("paid: %d %s", w.Code, w.Body)
		}
		if a.order("o1").Status != events.OrderStatusComplete {
			t.Errorf("order %+v, want complete", a.order("o1"))
		}
		b := newTestApp(t)
		o := b.placed(time.Minute)
		o.Status = events.OrderStatusCancelled
		b.put(orderKey("o1"), o)
		if w := b.call("payments", "/internal/orders/o1/paid", `{"paymentId":"p1"}`); w.Code != http.StatusConflict {
			t.Errorf("paid on cancelled: %d, want 409", w.Code)
		}
	})
	t.Run("once the payment's time is up, payments settles it", func(t *testing.T) {
		for outcome, want := range map[string]struct {
			status int
			order  events.OrderStatus
		}{
			invoke.Failed:    {http.StatusNoContent, events.OrderStatusCancelled},
			invoke.Succeeded: {http.StatusBadRequest, events.OrderStatusComplete},
			invoke.Pending:   {http.StatusBadRequest, events.OrderStatusAwaitingPayment},
		} {
			a := newTestApp(t)
			a.placed(time.Minute)
			hold(a)
			o := a.order("o1")
			o.PaymentUntil = time.Now().Add(-time.Millisecond)
			a.put(orderKey("o1"), o)
			a.payments.settleWith(outcome)
			w := a.do(http.MethodDelete, "/api/orders/o1", "", "buyer")
			if w.Code != want.status || a.order("o1").Status != want.order {
				t.Errorf("%s: cancel answered %d, order %s; want %d, %s", outcome, w.Code, a.order("o1").Status, want.status, want.order)
			}
		}
	})
}

func TestAnExpiryWaitsForThePaymentsOutcome(t *testing.T) {
	expired := events.ExpirationCompleteEvent{OrderID: "o1"}.Message()
	a := newTestApp(t)
	a.placed(time.Minute)
	a.call("payments", "/internal/orders/o1/pay", `{"userId":"buyer"}`)
	if got := a.deliver(expired); got != "RETRY" {
		t.Fatalf("expiry during the payment = %s, want RETRY", got)
	}
	o := a.order("o1")
	o.PaymentUntil = time.Now().Add(-time.Millisecond)
	a.put(orderKey("o1"), o)
	if got := a.deliver(expired); got != "RETRY" {
		t.Fatalf("expiry with payments unreachable = %s, want RETRY", got)
	}
	a.payments.settleWith(invoke.Failed)
	if got := a.deliver(expired); got != "SUCCESS" || a.order("o1").Status != events.OrderStatusCancelled {
		t.Fatalf("expiry once settled = %s, order %s; want SUCCESS, cancelled", got, a.order("o1").Status)
	}
}

func TestAbandonAnswersTicketsHoldSweep(t *testing.T) {
	a := newTestApp(t)
	a.placed(time.Minute)
	if w := a.call("tickets", "/internal/orders/o1/abandon", `{}`); !strings.Contains(w.Body.String(), `"status":"created"`) {
		t.Errorf("an existing order: %s, want its status", w.Body)
	}
	if w := a.call("tickets", "/internal/orders/o9/abandon", `{}`); !strings.Contains(w.Body.String(), `"status":"abandoned"`) {
		t.Errorf("an order never made: %s, want abandoned", w.Body)
	}
	if w := a.do(http.MethodGet, "/api/orders/o9", "", "buyer"); w.Code != http.StatusNotFound {
		t.Errorf("GET an abandoned order: %d, want 404", w.Code)
	}
}
