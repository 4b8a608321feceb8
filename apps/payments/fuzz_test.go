package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The request decoders must answer whatever arrives with a clear 4xx (or the
// outcome of a well-formed request) and never a 5xx: bodies of every shape
// against the real handlers, over the fakes.

func checkAnswer(t *testing.T, what string, w *httptest.ResponseRecorder, want ...int) {
	t.Helper()
	for _, s := range want {
		if w.Code == s {
			return
		}
	}
	t.Fatalf("%s: status %d %s, want one of %v", what, w.Code, w.Body, want)
}

func FuzzCreatePayment(f *testing.F) {
	for _, seed := range []string{
		`{"token":"tok_visa","orderId":"o1"}`,
		`{"token":"pm_card_threeDSecure2Required","orderId":"o1"}`,
		`{"token":"pm_card_chargeDeclined","orderId":"o1"}`,
		`{"token":"tok_visa","orderId":"nope"}`,
		`{"token":7,"orderId":"o1"}`,
		`{"token":"tok_visa","orderId":{"$ne":""}}`,
		`{"token":"tok\u0000","orderId":"o1"}`,
		"{\"token\":\"\xff\",\"orderId\":\"o1\"}",
		`{}`, `[]`, `null`, ``, `{"token":"tok_visa"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a := newTestApp(t)
		a.orders.add("o1", "buyer", 20)
		w := a.do(http.MethodPost, "/api/payments", string(body), "buyer")
		checkAnswer(t, "POST /api/payments "+string(body), w, 201, 202, 400, 401, 404, 409)
	})
}

func FuzzStripeWebhook(f *testing.F) {
	for _, seed := range []string{
		intentEvent("payment_intent.succeeded", "pi_1", "o1", "p1"),
		intentEvent("payment_intent.payment_failed", "pi_1", "o1", "p1"),
		stripeEvent("charge.refunded", map[string]any{"id": "ch_1", "object": "charge", "payment_intent": "pi_1", "metadata": map[string]string{"orderId": "o1"}}),
		stripeEvent("customer.created", map[string]any{"id": "cus_1"}),
		`{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"id":7}}}`,
		`{"id":"evt_1","type":"payment_intent.succeeded","data":"x"}`,
		`{}`, `[]`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a := newTestApp(t)
		a.orders.add("o1", "buyer", 20)
		// Signed with the right secret: every payload reaches the decoders.
		w := a.webhook(string(body), time.Now())
		checkAnswer(t, "webhook "+string(body), w, 200, 400)
	})
}
