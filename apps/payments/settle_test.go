package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/tixmesh/ticketing/apps/pkg/invoke"
)

// settleAnswer calls the internal settle route as orders' sidecar would.
func (a *testApp) settleAnswer(orderID string) string {
	a.t.Helper()
	w := a.call("orders", "/internal/payments/"+orderID+"/settle")
	if w.Code != http.StatusOK {
		a.t.Fatalf("settle %s: %d %s", orderID, w.Code, w.Body)
	}
	var s invoke.Settlement
	if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil {
		a.t.Fatal(err)
	}
	return s.Outcome
}

// staleAttempt is an open attempt claimed before the takeover window.
func (a *testApp) staleAttempt(method string) Payment {
	a.t.Helper()
	p := newAttempt("o1", "buyer", "seller", 20, method, time.Now().Add(-time.Hour), 1000, "")
	a.putPayment(p)
	return p
}

func TestSettleTellsOrdersHowAPaymentEnded(t *testing.T) {
	t.Run("no attempt at all: none may start", func(t *testing.T) {
		a := newTestApp(t)
		a.orders.add("o1", "buyer", 20)
		if got := a.settleAnswer("o1"); got != invoke.Failed {
			t.Fatalf("outcome %s, want failed", got)
		}
		if p, _ := a.payment("o1"); p.Status != PaymentAbandoned {
			t.Errorf("payment %+v, want abandoned", p)
		}
		if w := a.pay("o1", "buyer", "tok_visa"); w.Code != http.StatusBadRequest || len(a.stripe.intents) != 0 {
			t.Errorf("a late payment: %d, %d intents; want 400 and none", w.Code, len(a.stripe.intents))
		}
	})
	t.Run("paid", func(t *testing.T) {
		a := newTestApp(t)
		a.putPayment(Payment{ID: "p1", OrderID: "o1", Status: PaymentSucceeded, StripeID: "pi_9"})
		if got := a.settleAnswer("o1"); got != invoke.Succeeded {
			t.Errorf("outcome %s, want succeeded", got)
		}
	})
	t.Run("a request still paying", func(t *testing.T) {
		a := newTestApp(t)
		a.putPayment(newAttempt("o1", "buyer", "", 20, "tok_visa", time.Now(), 1000, ""))
		if got := a.settleAnswer("o1"); got != invoke.Pending {
			t.Errorf("outcome %s, want pending", got)
		}
	})
	t.Run("an attempt whose request died after the money was taken", func(t *testing.T) {
		a := newTestApp(t)
		p := a.staleAttempt("tok_visa")
		if _, err := a.stripe.pay(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if got := a.settleAnswer("o1"); got != invoke.Succeeded {
			t.Fatalf("outcome %s, want succeeded", got)
		}
		if cur, _ := a.payment("o1"); cur.Status != PaymentSucceeded || !slices.Equal(a.published(), []string{"payment:created/o1"}) {
			t.Errorf("payment %+v, published %v; want it recorded with payment:created", cur, a.published())
		}
	})
	t.Run("an attempt whose request died before confirming: cancelled at Stripe, never charged", func(t *testing.T) {
		a := newTestApp(t)
		a.staleAttempt("tok_visa")
		if got := a.settleAnswer("o1"); got != invoke.Failed {
			t.Fatalf("outcome %s, want failed", got)
		}
		confirms, cancels, _ := a.stripe.counts()
		if confirms != 0 || cancels != 1 {
			t.Errorf("%d confirmations, %d cancellations; want 0, 1", confirms, cancels)
		}
		if cur, _ := a.payment("o1"); cur.Status != PaymentAbandoned {
			t.Errorf("payment %+v, want abandoned", cur)
		}
	})
	t.Run("a buyer still authenticating, then too late", func(t *testing.T) {
		a := newTestApp(t)
		a.orders.add("o1", "buyer", 20)
		a.pay("o1", "buyer", "pm_card_threeDSecure2Required")
		if got := a.settleAnswer("o1"); got != invoke.Pending {
			t.Fatalf("during the action window: %s, want pending", got)
		}
		p, _ := a.payment("o1")
		p.AttemptAt = time.Now().Add(-a.payer.actionWindow - time.Second)
		a.putPayment(p)
		if got := a.settleAnswer("o1"); got != invoke.Failed {
			t.Fatalf("after it: %s, want failed", got)
		}
		if in := a.stripe.intents[p.IntentID]; in.Status != stripe.PaymentIntentStatusCanceled {
			t.Errorf("intent %+v, want cancelled (no late success)", in)
		}
	})
	t.Run("the buyer authenticated just before the cancel", func(t *testing.T) {
		a := newTestApp(t)
		a.orders.add("o1", "buyer", 20)
		a.pay("o1", "buyer", "pm_card_threeDSecure2Required")
		p, _ := a.payment("o1")
		p.AttemptAt = time.Now().Add(-a.payer.actionWindow - time.Second)
		a.putPayment(p)
		a.stripe.authenticate(p.IntentID)
		if got := a.settleAnswer("o1"); got != invoke.Succeeded {
			t.Errorf("outcome %s, want succeeded", got)
		}
	})
	t.Run("Stripe unreachable: ask again later", func(t *testing.T) {
		a := newTestApp(t)
		a.staleAttempt("tok_visa")
		a.stripe.down = true
		if got := a.settleAnswer("o1"); got != invoke.Pending {
			t.Errorf("outcome %s, want pending", got)
		}
	})
}

func TestTheReconcilerEndsAttemptsWhoseRequestsAreGone(t *testing.T) {
	t.Run("money taken: recorded, orders told", func(t *testing.T) {
		a := newTestApp(t)
		a.orders.add("o1", "buyer", 20)
		p := a.staleAttempt("tok_visa")
		if _, err := a.stripe.pay(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if n := a.payer.reconcile(context.Background(), time.Now()); n != 1 {
			t.Fatalf("settled %d, want 1", n)
		}
		if cur, _ := a.payment("o1"); cur.Status != PaymentSucceeded || !slices.Equal(a.orders.paid, []string{"o1"}) {
			t.Errorf("payment %+v, orders told %v", cur, a.orders.paid)
		}
	})
	t.Run("no money taken: released, orders told, never charged on anyone's behalf", func(t *testing.T) {
		a := newTestApp(t)
		a.orders.add("o1", "buyer", 20)
		a.staleAttempt("tok_visa")
		if n := a.payer.reconcile(context.Background(), time.Now()); n != 1 {
			t.Fatalf("settled %d, want 1", n)
		}
		if _, found := a.payment("o1"); found || !slices.Equal(a.orders.unpaid, []string{"o1"}) {
			t.Errorf("claim still held: %v; orders told unpaid %v", found, a.orders.unpaid)
		}
		if confirms, _, _ := a.stripe.counts(); confirms != 0 {
			t.Errorf("%d confirmations, want none", confirms)
		}
	})
	t.Run("young attempts are their requests'", func(t *testing.T) {
		a := newTestApp(t)
		a.putPayment(newAttempt("o1", "buyer", "", 20, "tok_visa", time.Now(), 1000, ""))
		if n := a.payer.reconcile(context.Background(), time.Now()); n != 0 {
			t.Errorf("settled %d, want 0", n)
		}
	})
}
