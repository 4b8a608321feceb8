package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// stripeEvent is a webhook body as Stripe sends it. Its API version is not
// stripe-go's, as in a real account pinned to an older version.
func stripeEvent(typ string, object any) string {
	b, _ := json.Marshal(map[string]any{
		"id": "evt_" + typ, "object": "event", "api_version": "2020-08-27", "created": 1764072000,
		"type": typ, "data": map[string]any{"object": object},
	})
	return string(b)
}

func intentEvent(typ, intentID, orderID, paymentID string) string {
	meta := map[string]string{}
	if orderID != "" {
		meta["orderId"] = orderID
	}
	if paymentID != "" {
		meta["paymentId"] = paymentID
	}
	status := "succeeded"
	if typ == "payment_intent.payment_failed" {
		status = "requires_payment_method"
	}
	return stripeEvent(typ, map[string]any{
		"id": intentID, "object": "payment_intent", "amount": 2000, "currency": "usd", "status": status, "metadata": meta,
	})
}

// webhook posts payload signed with the test secret at the given time.
func (a *testApp) webhook(payload string, at time.Time) *httptest.ResponseRecorder {
	a.t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: testWebhookSecret, Timestamp: at})
	return a.webhookWithHeader(payload, signed.Header)
}

func (a *testApp) webhookWithHeader(payload, signature string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/payments/webhook", strings.NewReader(payload))
	r.Header.Set("Content-Type", "application/json")
	if signature != "" {
		r.Header.Set("Stripe-Signature", signature)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

func wantReceived(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"received":true}` {
		t.Errorf("answer %d %s, want 200 {\"received\":true}", w.Code, w.Body)
	}
}

// authenticating leaves o1 paid with a card that asked for 3-D Secure:
// the attempt waits for the buyer.
func authenticating(t *testing.T) (*testApp, Payment) {
	a := newTestApp(t)
	a.orders.add("o1", "buyer", 20)
	if w := a.pay("o1", "buyer", "pm_card_threeDSecure2Required"); w.Code != http.StatusAccepted {
		t.Fatalf("pay: %d %s", w.Code, w.Body)
	}
	p, _ := a.payment("o1")
	return a, p
}

func TestWebhookRejectsBadSignatures(t *testing.T) {
	a, p := authenticating(t)
	payload := intentEvent("payment_intent.succeeded", p.IntentID, "o1", p.ID)
	sign := func(body, secret string, at time.Time) string {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: at}).Header
	}
	for name, sig := range map[string]string{
		"no signature":          "",
		"another secret":        sign(payload, "whsec_other", time.Now()),
		"too old":               sign(payload, testWebhookSecret, time.Now().Add(-time.Hour)),
		"a tampered body":       sign(strings.Replace(payload, "2000", "1", 1), testWebhookSecret, time.Now()),
		"a header of nonsense":  "t=abc,v1=xyz",
		"a signature from 2001": "t=1000000000,v1=" + strings.Repeat("0", 64),
	} {
		t.Run(name, func(t *testing.T) {
			w := a.webhookWithHeader(payload, sig)
			if w.Code != http.StatusBadRequest || errorBody(t, w).Errors[0].Message != "Invalid Stripe signature" {
				t.Errorf("answer %d %s, want 400 Invalid Stripe signature", w.Code, w.Body)
			}
			if cur, _ := a.payment("o1"); cur.Status != PaymentRequiresAction {
				t.Errorf("payment %+v changed", cur)
			}
		})
	}
}

func TestTheSucceededWebhookCompletesTheOrderOnce(t *testing.T) {
	a, p := authenticating(t)
	a.stripe.authenticate(p.IntentID)
	ev := intentEvent("payment_intent.succeeded", p.IntentID, "o1", p.ID)
	for range 3 { // Stripe resends
		wantReceived(t, a.webhook(ev, time.Now()))
	}
	cur, _ := a.payment("o1")
	if cur.Status != PaymentSucceeded || cur.StripeID != p.IntentID {
		t.Fatalf("payment %+v, want succeeded with the intent", cur)
	}
	if !slices.Equal(a.published(), []string{"payment:created/o1"}) || a.orders.status("o1") != "complete" {
		t.Errorf("published %v, order %s; want one payment:created and complete", a.published(), a.orders.status("o1"))
	}
	// The buyer's page asks afterwards: the order is paid.
	if w := a.pay("o1", "buyer", "pm_card_threeDSecure2Required"); w.Code != http.StatusBadRequest {
		t.Errorf("a payment after the webhook: %d %s, want 400", w.Code, w.Body)
	}
}

func TestTheFailedWebhookMakesTheOrderPayableAgain(t *testing.T) {
	a, p := authenticating(t)
	wantReceived(t, a.webhook(intentEvent("payment_intent.payment_failed", p.IntentID, "o1", p.ID), time.Now()))
	if _, found := a.payment("o1"); found || a.orders.status("o1") != "created" {
		t.Errorf("claim held %v, order %s; want released and payable", found, a.orders.status("o1"))
	}
}

func TestWebhooksThatPaymentsDoesNotActOn(t *testing.T) {
	a, p := authenticating(t)
	for name, payload := range map[string]string{
		"another event type":       stripeEvent("customer.created", map[string]any{"id": "cus_1", "object": "customer"}),
		"an intent without our id": intentEvent("payment_intent.succeeded", "pi_x", "", ""),
		"another attempt's intent": intentEvent("payment_intent.succeeded", "pi_other", "o1", "p_other"),
		"an order payments lacks":  intentEvent("payment_intent.succeeded", "pi_y", "o9", "p9"),
	} {
		t.Run(name, func(t *testing.T) {
			wantReceived(t, a.webhook(payload, time.Now()))
			if cur, _ := a.payment("o1"); cur.Status != PaymentRequiresAction || len(a.published()) != 0 {
				t.Errorf("payment %+v, published %v", cur, a.published())
			}
		})
	}
	_ = p
}

func TestMoneyTakenForAnAbandonedAttemptGoesBack(t *testing.T) {
	a, p := authenticating(t)
	p.Status = PaymentAbandoned // settled: orders ended the order
	a.putPayment(p)
	wantReceived(t, a.webhook(intentEvent("payment_intent.succeeded", p.IntentID, "o1", p.ID), time.Now()))
	if _, _, refunds := a.stripe.counts(); refunds != 1 || len(a.published()) != 0 {
		t.Errorf("%d refunds, published %v; want 1 and nothing", refunds, a.published())
	}
}

func TestTheStoreDownIsA503SoStripeResends(t *testing.T) {
	a, p := authenticating(t)
	a.state.FailNext = errUnavailableForTest
	a.stripe.authenticate(p.IntentID)
	if w := a.webhook(intentEvent("payment_intent.succeeded", p.IntentID, "o1", p.ID), time.Now()); w.Code != http.StatusServiceUnavailable {
		t.Errorf("answer %d, want 503", w.Code)
	}
}

// The platform's endpoint and the Connect endpoint sign with secrets of their
// own; during a roll, Stripe signs with two. Any one configured verifies.
func TestEveryConfiguredWebhookSecretVerifies(t *testing.T) {
	secrets := webhookSecrets(" whsec_platform,whsec_connect \n whsec_rolled ")
	if len(secrets) != 3 || secrets[1] != "whsec_connect" {
		t.Fatalf("secrets %q", secrets)
	}
	payload := stripeEvent("account.updated", map[string]any{"id": "acct_1", "object": "account"})
	for _, secret := range []string{"whsec_platform", "whsec_connect", "whsec_rolled", "whsec_stranger"} {
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: secret, Timestamp: time.Now()})
		ev, err := verifiedEvent([]byte(payload), signed.Header, secrets)
		if secret == "whsec_stranger" {
			if err == nil {
				t.Errorf("an event signed with an unknown secret verified")
			}
			continue
		}
		if err != nil || ev.Type != "account.updated" {
			t.Errorf("signed with %s: %v", secret, err)
		}
	}
	stale := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: "whsec_connect", Timestamp: time.Now().Add(-time.Hour)})
	if _, err := verifiedEvent([]byte(payload), stale.Header, secrets); !errors.Is(err, webhook.ErrTooOld) {
		t.Errorf("a stale event signed with the second secret: %v, want too old", err)
	}
}
