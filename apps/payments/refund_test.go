package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
)

func (f *fakeCharger) refundCalls() []Refund {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Refund(nil), f.refunds...)
}

// An order that expired after its payment went through (the two crossed):
// order:cancelled refunds the charge once, however often it is delivered.
func TestCancellationAfterAPaymentRefundsIt(t *testing.T) {
	a := newTestApp(t)
	a.settle(orderCreated("o1"))
	if w := a.pay("o1", "buyer"); w.Code != http.StatusCreated {
		t.Fatalf("pay: %d", w.Code)
	}
	for range 2 {
		if got := a.deliver(orderCancelled("o1", 1)); got != "SUCCESS" {
			t.Fatalf("delivery answered %s, want SUCCESS", got)
		}
	}
	p, _ := a.payment("o1")
	if p.Status != PaymentRefunded || p.StripeID != "ch_1" {
		t.Errorf("payment %+v, want refunded ch_1", p)
	}
	refunds := a.charger.refundCalls()
	if len(refunds) != 1 || refunds[0] != (Refund{ChargeID: "ch_1", OrderID: "o1", IdempotencyKey: "refund-o1"}) {
		t.Errorf("refunds %+v, want one of ch_1 under refund-o1", refunds)
	}
}

// A claim left pending (its request died after charging) is settled by the
// reconciler: charged again under the same idempotency key, then recorded
// while the order is open, or refunded once it is cancelled.
func TestReconcileSettlesAbandonedPayments(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cfg := config{TakeoverAfter: 30 * time.Second}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, cancelled := range []bool{false, true} {
		a := newTestApp(t)
		a.settle(orderCreated("o1"))
		if cancelled {
			a.settle(orderCancelled("o1", 1))
		}
		o, _ := a.order("o1")
		abandoned := newClaim(o, "buyer", "tok_visa", now.Add(-time.Minute))
		a.putPayment(abandoned)
		fresh := newClaim(o, "buyer", "tok_visa", now.Add(-time.Second))
		fresh.OrderID = "o2"
		a.putPayment(fresh) // pending, but within its window: left alone

		if n := reconcile(context.Background(), log, cfg, a.payments, a.charger, now); n != 1 {
			t.Fatalf("cancelled=%v: settled %d, want 1", cancelled, n)
		}
		charges := a.charger.charges()
		if len(charges) != 1 || charges[0].IdempotencyKey != abandoned.charge().IdempotencyKey {
			t.Fatalf("cancelled=%v: charges %+v, want one under the abandoned claim's key", cancelled, charges)
		}
		p, _ := a.payment("o1")
		created := 0
		for _, m := range a.published() {
			if m.Topic == events.PaymentCreated {
				created++
			}
		}
		if cancelled {
			if p.Status != PaymentRefunded || len(a.charger.refundCalls()) != 1 {
				t.Errorf("cancelled order: payment %+v, %d refunds; want refunded once", p, len(a.charger.refundCalls()))
			}
		} else if p.Status != PaymentSucceeded || len(a.charger.refundCalls()) != 0 {
			t.Errorf("open order: payment %+v, %d refunds; want succeeded, none", p, len(a.charger.refundCalls()))
		}
		if want := map[bool]int{false: 1, true: 0}[cancelled]; created != want {
			t.Errorf("cancelled=%v: %d payment:created, want %d", cancelled, created, want)
		}
		if n := reconcile(context.Background(), log, cfg, a.payments, a.charger, now); n != 0 {
			t.Errorf("cancelled=%v: a second pass settled %d more", cancelled, n)
		}
	}
}

// chargeLandsDuringCancel commits a succeeded payment for the order just
// before the cancellation's transaction: the charge in flight has read the
// copy (still open) and commits, while order:cancelled has read the payment
// (still pending) and commits. Neither saw the other's write.
type chargeLandsDuringCancel struct {
	*sidecartest.State
	t      *testing.T
	charge Payment
	done   bool
}

func (c *chargeLandsDuringCancel) Transact(ctx context.Context, ops ...sidecar.Op) error {
	for _, op := range ops {
		if op.Key == orderKey(c.charge.OrderID) && !c.done {
			c.done = true
			if err := c.State.Transact(ctx, sidecar.Op{Key: paymentKey(c.charge.OrderID), Value: c.charge}); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	return c.State.Transact(ctx, ops...)
}

func TestAChargeThatLandsWhileTheOrderIsCancelledIsRefunded(t *testing.T) {
	fake := sidecartest.NewState()
	store := &chargeLandsDuringCancel{State: fake, t: t}
	a := newTestAppOn(t, fake, store)
	a.settle(orderCreated("o1"))
	o, _ := a.order("o1")
	claim := newClaim(o, "buyer", "tok_visa", time.Now())
	a.putPayment(claim) // a charge in flight
	store.charge = claim
	store.charge.Status, store.charge.StripeID = PaymentSucceeded, "ch_9"
	if got := a.deliver(orderCancelled("o1", 1)); got != "SUCCESS" {
		t.Fatalf("delivery answered %s, want SUCCESS", got)
	}
	refunds := a.charger.refundCalls()
	if len(refunds) != 1 || refunds[0].ChargeID != "ch_9" {
		t.Errorf("refunds %+v, want the charge that landed, ch_9, refunded", refunds)
	}
}
