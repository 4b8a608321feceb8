package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
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

func chargeSucceeded(chargeID string, amount int64, orderID, paymentID string) string {
	meta := map[string]string{}
	if orderID != "" {
		meta["orderId"] = orderID
	}
	if paymentID != "" {
		meta["paymentId"] = paymentID
	}
	return stripeEvent("charge.succeeded", map[string]any{
		"id": chargeID, "object": "charge", "amount": amount, "currency": "usd", "paid": true, "status": "succeeded", "metadata": meta,
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

// TestWebhookRejectsBadSignatures: only a payload signed with our secret,
// recently, is acted on; everything else is a 400 and changes nothing.
func TestWebhookRejectsBadSignatures(t *testing.T) {
	payload := chargeSucceeded("ch_1", 2050, "o1", "p0")
	sign := func(body, secret string, at time.Time) string {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: at}).Header
	}
	tests := []struct {
		name      string
		signature string
		wantError string
	}{
		{"no signature", "", "Invalid Stripe signature"},
		{"a garbled header", "t=now,v1", "Invalid Stripe signature"},
		{"another secret", sign(payload, "whsec_someone_else", time.Now()), "Invalid Stripe signature"},
		{"another body", sign(chargeSucceeded("ch_2", 1, "o1", "p0"), testWebhookSecret, time.Now()), "Invalid Stripe signature"},
		{"signed too long ago (a replay)", sign(payload, testWebhookSecret, time.Now().Add(-6*time.Minute)), "Invalid Stripe signature"},
		{"an old scheme only", strings.Replace(sign(payload, testWebhookSecret, time.Now()), "v1=", "v0=", 1), "Invalid Stripe signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			a.putOrder(open)
			claim := Payment{ID: "p0", OrderID: "o1", UserID: "buyer", Amount: 2050, Status: PaymentPending, Token: "tok_visa", AttemptAt: time.Now().UTC()}
			a.putPayment(claim)

			w := a.webhookWithHeader(payload, tt.signature)
			if w.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", w.Code)
			}
			if got := errorMessages(t, w); !slices.Equal(got, []string{tt.wantError}) {
				t.Errorf("errors %q, want %q", got, tt.wantError)
			}
			if p, _ := a.payment("o1"); p != claim {
				t.Errorf("payment %+v, want it untouched %+v", p, claim)
			}
			if got := a.published(); len(got) != 0 {
				t.Errorf("published %+v, want nothing", got)
			}
		})
	}
}

func TestWebhookRejectsAPayloadThatIsNotAnEvent(t *testing.T) {
	a := newTestApp(t)
	w := a.webhook(`not json`, time.Now())
	if w.Code != http.StatusBadRequest {
		t.Errorf("status %d, want 400", w.Code)
	}
	if got, want := errorMessages(t, w), []string{"Invalid webhook payload"}; !slices.Equal(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestWebhookRejectsAnObjectOfTheWrongShape(t *testing.T) {
	a := newTestApp(t)
	a.putOrder(open)
	w := a.webhook(stripeEvent("charge.succeeded", map[string]any{"id": "ch_1", "amount": "twenty", "metadata": map[string]string{"orderId": "o1"}}), time.Now())
	if w.Code != http.StatusBadRequest {
		t.Errorf("status %d, want 400", w.Code)
	}
	if _, found := a.payment("o1"); found {
		t.Error("a malformed charge recorded a payment")
	}
}

func TestWebhookRejectsAnOversizedBody(t *testing.T) {
	a := newTestApp(t)
	a.putOrder(open)
	// Valid and signed, but padded past the limit.
	payload := strings.Replace(chargeSucceeded("ch_1", 2050, "o1", ""), `"object":"event"`, `"object":"event","pad":"`+strings.Repeat("x", maxWebhookBytes)+`"`, 1)
	w := a.webhook(payload, time.Now())
	if w.Code != http.StatusBadRequest {
		t.Errorf("status %d, want 400", w.Code)
	}
	if _, found := a.payment("o1"); found {
		t.Error("an oversized webhook recorded a payment")
	}
}

// TestWebhookConfirmsThePayment: a signed succeeded event records the payment
// as the API path would, whatever state it finds.
func TestWebhookConfirmsThePayment(t *testing.T) {
	now := time.Now().UTC()
	pending := Payment{ID: "p0", OrderID: "o1", UserID: "buyer", Amount: 2050, Status: PaymentPending, Token: "tok_visa", AttemptAt: now}
	succeeded := Payment{ID: "p0", OrderID: "o1", UserID: "buyer", Amount: 2050, Status: PaymentSucceeded, StripeID: "ch_api", AttemptAt: now, Version: 1}
	tests := []struct {
		name        string
		existing    *Payment
		payload     string
		wantID      string
		wantStripe  string
		wantAmount  int64
		wantPublish bool
	}{
		{
			name: "a pending claim succeeds", existing: &pending,
			payload: chargeSucceeded("ch_1", 2050, "o1", "p0"),
			wantID:  "p0", wantStripe: "ch_1", wantAmount: 2050, wantPublish: true,
		},
		{
			name:    "a charge nobody recorded is recorded",
			payload: chargeSucceeded("ch_1", 2050, "o1", "p7"),
			wantID:  "p7", wantStripe: "ch_1", wantAmount: 2050, wantPublish: true,
		},
		{
			name: "a payment already recorded is left alone", existing: &succeeded,
			payload: chargeSucceeded("ch_api", 2050, "o1", "p0"),
			wantID:  "p0", wantStripe: "ch_api", wantAmount: 2050, wantPublish: false,
		},
		{
			name: "a second charge for a paid order is logged, not recorded", existing: &succeeded,
			payload: chargeSucceeded("ch_other", 2050, "o1", "p9"),
			wantID:  "p0", wantStripe: "ch_api", wantAmount: 2050, wantPublish: false,
		},
		{
			name: "a payment intent records its latest charge", existing: &pending,
			payload: stripeEvent("payment_intent.succeeded", map[string]any{
				"id": "pi_1", "object": "payment_intent", "amount": 2050, "amount_received": 2050, "status": "succeeded",
				"latest_charge": "ch_9", "metadata": map[string]string{"orderId": "o1", "paymentId": "p0"},
			}),
			wantID: "p0", wantStripe: "ch_9", wantAmount: 2050, wantPublish: true,
		},
		{
			name: "a payment intent without a charge records itself",
			payload: stripeEvent("payment_intent.succeeded", map[string]any{
				"id": "pi_1", "object": "payment_intent", "amount": 2050, "status": "succeeded",
				"metadata": map[string]string{"orderId": "o1"},
			}),
			wantStripe: "pi_1", wantAmount: 2050, wantPublish: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			a.putOrder(open)
			if tt.existing != nil {
				a.putPayment(*tt.existing)
			}
			wantReceived(t, a.webhook(tt.payload, time.Now()))

			p, found := a.payment("o1")
			if !found {
				t.Fatal("no payment recorded")
			}
			if tt.wantID == "" {
				tt.wantID = p.ID // a new random id
			}
			if p.ID != tt.wantID || p.Status != PaymentSucceeded || p.StripeID != tt.wantStripe || p.Amount != tt.wantAmount || p.UserID != "buyer" || p.Token != "" {
				t.Errorf("payment %+v, want %s succeeded by %s for %d cents, the buyer's", p, tt.wantID, tt.wantStripe, tt.wantAmount)
			}
			var want []events.Message
			if tt.wantPublish {
				want = append(want, events.PaymentCreatedEvent{ID: tt.wantID, OrderID: "o1", StripeID: tt.wantStripe}.Message())
			}
			if got := a.published(); !slices.Equal(got, want) {
				t.Errorf("published %+v, want %+v", got, want)
			}
		})
	}
}

// TestWebhookDeliveredTwiceAnnouncesOnce: Stripe resends events; the second
// delivery, and a payment request after them, change nothing.
func TestWebhookDeliveredTwiceAnnouncesOnce(t *testing.T) {
	a := newTestApp(t)
	a.putOrder(open)
	payload := chargeSucceeded("ch_1", 2050, "o1", "p7")
	wantReceived(t, a.webhook(payload, time.Now()))
	wantReceived(t, a.webhook(payload, time.Now()))
	if got := len(a.published()); got != 1 {
		t.Errorf("%d events published, want 1", got)
	}
	w := a.pay("o1", "buyer")
	if w.Code != http.StatusBadRequest {
		t.Errorf("payment after the webhook: status %d, want 400", w.Code)
	}
	if n := len(a.charger.charges()); n != 0 {
		t.Errorf("%d charges after the webhook, want none", n)
	}
}

// TestWebhookIgnoresWhatItCannotUse: answered 200 so that Stripe stops
// resending, and nothing is recorded.
func TestWebhookIgnoresWhatItCannotUse(t *testing.T) {
	tests := []struct {
		name    string
		payload string
	}{
		{"another event type", stripeEvent("charge.refunded", map[string]any{"id": "ch_1", "object": "charge", "metadata": map[string]string{"orderId": "o1"}})},
		{"a failed charge", stripeEvent("charge.failed", map[string]any{"id": "ch_1", "object": "charge", "metadata": map[string]string{"orderId": "o1"}})},
		{"a charge without an order", chargeSucceeded("ch_1", 2050, "", "")},
		{"an order payments does not know", chargeSucceeded("ch_1", 2050, "o-unknown", "p1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			a.putOrder(open)
			wantReceived(t, a.webhook(tt.payload, time.Now()))
			if keys := a.state.Keys(); !slices.Equal(keys, []string{orderKey("o1")}) {
				t.Errorf("stored %q, want only the order", keys)
			}
			if got := a.published(); len(got) != 0 {
				t.Errorf("published %+v, want nothing", got)
			}
		})
	}
}

// TestWebhookStoreUnavailable: a 503 makes Stripe send the event again later.
func TestWebhookStoreUnavailable(t *testing.T) {
	fake := sidecartest.NewState()
	a := newTestAppOn(t, fake, failingState{State: fake, err: fmt.Errorf("get: %w", sidecar.ErrUnavailable)})
	w := a.webhook(chargeSucceeded("ch_1", 2050, "o1", "p1"), time.Now())
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", w.Code)
	}
}

// TestWebhookRecordFails: the order is known but the write fails; a 503 makes
// Stripe try again, and nothing is announced.
func TestWebhookRecordFails(t *testing.T) {
	a := newTestApp(t)
	a.putOrder(open)
	a.state.FailNext = fmt.Errorf("transaction: %w", sidecar.ErrUnavailable)
	w := a.webhook(chargeSucceeded("ch_1", 2050, "o1", "p1"), time.Now())
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", w.Code)
	}
	if got := a.published(); len(got) != 0 {
		t.Errorf("published %+v, want nothing", got)
	}
}
