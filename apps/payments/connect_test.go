package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func accountUpdated(acct, sellerID string, ready bool) string {
	transfers := "inactive"
	if ready {
		transfers = "active"
	}
	return stripeEvent("account.updated", map[string]any{
		"id": acct, "object": "account", "metadata": map[string]string{"sellerId": sellerID},
		"charges_enabled": ready, "payouts_enabled": ready, "details_submitted": ready,
		"capabilities": map[string]string{"transfers": transfers},
	})
}

func TestFeesAreExactInCents(t *testing.T) {
	for _, c := range []struct{ amount, bp, want int64 }{
		{2050, 1000, 205}, {1999, 1000, 200}, {1, 1000, 0}, {5, 1000, 1}, {100_000_000, 1000, 10_000_000},
		{2050, 0, 0}, {2050, 290, 59}, {2050, 10000, 2050},
	} {
		if got := feeOf(c.amount, c.bp); got != c.want {
			t.Errorf("fee of %d at %d bp = %d, want %d", c.amount, c.bp, got, c.want)
		}
	}
}

func TestASellerConnectsAndIsPaid(t *testing.T) {
	a := newTestApp(t)
	// Before the seller connects: a payment waits on the platform.
	a.orders.add("o1", "buyer", 20.5)
	a.pay("o1", "buyer", "tok_visa")
	p1, _ := a.payment("o1")
	if p1.Destination != "" || p1.Fee != 205 || p1.Transfer != TransferPending || p1.ChargeID == "" {
		t.Fatalf("payment %+v, want a platform charge, fee 205, its share pending", p1)
	}

	w := a.do(http.MethodPost, "/api/payments/sellers", `{"returnUrl":"https://tix.test/sellers/me"}`, "seller")
	var s sellerResponse
	_ = json.Unmarshal(w.Body.Bytes(), &s)
	if w.Code != http.StatusCreated || s.AccountID != "acct_seller" || !strings.Contains(s.URL, "return=https://tix.test/sellers/me") || s.Ready {
		t.Fatalf("connect: %d %s", w.Code, w.Body)
	}
	if w := a.do(http.MethodPost, "/api/payments/sellers", `{}`, "seller"); w.Code != http.StatusOK {
		t.Errorf("connecting again: %d, want 200 with a fresh link", w.Code)
	}
	if w := a.do(http.MethodPost, "/api/payments/sellers", `{"returnUrl":"javascript:alert(1)"}`, "seller"); w.Code != http.StatusBadRequest {
		t.Errorf("a return URL that is not http(s): %d, want 400", w.Code)
	}

	// Stripe says the account can receive transfers: the waiting share goes.
	wantReceived(t, a.webhook(accountUpdated("acct_seller", "seller", true), time.Now()))
	if got := a.stripe.transfers["o1"]; got != 2050-205 {
		t.Errorf("transferred %d for o1, want the share 1845", got)
	}
	if p, _ := a.payment("o1"); p.Transfer != TransferSent || p.TransferID != "tr_o1" {
		t.Errorf("payment %+v, want its share sent", p)
	}
	wantReceived(t, a.webhook(accountUpdated("acct_seller", "seller", true), time.Now())) // resent
	if n := len(a.stripe.transfers); n != 1 {
		t.Errorf("%d transfers, want 1", n)
	}

	// From now on: destination charges, the fee as the application fee.
	a.orders.add("o2", "buyer", 10)
	a.pay("o2", "buyer", "tok_visa")
	p2, _ := a.payment("o2")
	if p2.Destination != "acct_seller" || p2.Transfer != TransferWithCharge || a.stripe.destinations[p2.IntentID] != [2]string{"acct_seller", "100"} {
		t.Errorf("payment %+v, intent %v; want a destination charge with fee 100", p2, a.stripe.destinations[p2.IntentID])
	}

	w = a.do(http.MethodGet, "/api/payments/sales", "", "seller")
	var sales salesResponse
	_ = json.Unmarshal(w.Body.Bytes(), &sales)
	if w.Code != 200 || len(sales.Sales) != 2 || sales.Gross != 30.5 || sales.Fees != 3.05 || sales.Paid != 27.45 || sales.Owed != 0 {
		t.Errorf("sales %d %+v", w.Code, sales)
	}
	if w := a.do(http.MethodGet, "/api/payments/sellers/me", "", "seller"); !strings.Contains(w.Body.String(), `"ready":true`) {
		t.Errorf("seller: %s", w.Body)
	}
	if w := a.do(http.MethodGet, "/api/payments/sellers/me", "", "someone"); w.Code != http.StatusNotFound {
		t.Errorf("a user without an account: %d, want 404", w.Code)
	}
}

func TestARefundTakesTheSellersShareAndTheFeeBack(t *testing.T) {
	for _, tt := range []struct {
		name     string
		connect  bool // before the payment
		after    bool // connect after the payment (the share was sent)
		reverse  bool // the refund reverses a destination charge's transfer
		reversal int  // transfer reversals
		want     TransferStatus
	}{
		{"a destination charge", true, false, true, 0, TransferReversed},
		{"a share sent afterwards", false, true, false, 1, TransferReversed},
		{"a share never sent", false, false, false, 0, TransferCancelled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			if tt.connect {
				a.do(http.MethodPost, "/api/payments/sellers", `{}`, "seller")
				a.webhook(accountUpdated("acct_seller", "seller", true), time.Now())
			}
			a.orders.add("o1", "buyer", 20)
			a.pay("o1", "buyer", "tok_visa")
			if tt.after {
				a.do(http.MethodPost, "/api/payments/sellers", `{}`, "seller")
				a.webhook(accountUpdated("acct_seller", "seller", true), time.Now())
			}
			if err := a.payer.refundPaid(context.Background(), "o1"); err != nil {
				t.Fatal(err)
			}
			p, _ := a.payment("o1")
			if p.Status != PaymentRefunded || p.Transfer != tt.want || len(a.stripe.reversals) != tt.reversal ||
				len(a.stripe.refunds) != 1 || a.stripe.refunds[0].ReverseTransfer != tt.reverse {
				t.Errorf("payment %+v, refunds %+v, reversals %v", p, a.stripe.refunds, a.stripe.reversals)
			}
		})
	}
}

// A refund made at Stripe (the Dashboard) arrives as charge.refunded: a share
// sent to the seller after the charge is reversed, once however often Stripe
// resends the event.
func TestARefundAtStripeReversesTheSentShare(t *testing.T) {
	a := newTestApp(t)
	a.orders.add("o1", "buyer", 20)
	a.pay("o1", "buyer", "tok_visa")
	a.do(http.MethodPost, "/api/payments/sellers", `{}`, "seller")
	a.webhook(accountUpdated("acct_seller", "seller", true), time.Now())
	p, _ := a.payment("o1")
	if p.Transfer != TransferSent {
		t.Fatalf("payment %+v, want its share sent", p)
	}
	refunded := stripeEvent("charge.refunded", map[string]any{"id": p.ChargeID, "object": "charge", "amount": 2000, "refunded": true,
		"payment_intent": p.IntentID, "metadata": map[string]string{"orderId": "o1", "paymentId": p.ID}})
	for range 2 {
		wantReceived(t, a.webhook(refunded, time.Now()))
	}
	p, _ = a.payment("o1")
	if p.Status != PaymentRefunded || p.Transfer != TransferReversed || len(a.stripe.reversals) != 1 {
		t.Errorf("payment %+v, reversals %v; want refunded, its share reversed once", p, a.stripe.reversals)
	}
}
