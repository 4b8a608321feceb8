package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// placedOrder lists a ticket and orders it at once as a new buyer: nothing
// waits for an event (orders asks tickets; payments asks orders).
func placedOrder(t testing.TB, price float64) (*user, order) {
	t.Helper()
	seller, buyer := signedUp(t), signedUp(t)
	tk := listTicket(t, seller, "Paid show", price)
	var o order
	buyer.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201).json(t, &o)
	return buyer, o
}

// charges returns how many of an order's PaymentIntents took its money at
// Stripe (succeeded, whether at confirmation or once its buyer
// authenticated).
func charges(orderID string) int {
	n := 0
	for _, in := range the.StripeIntents() {
		if in.OrderID == orderID && in.Status == "succeeded" {
			n++
		}
	}
	return n
}

// stripeCalls returns how many requests reached Stripe for an order.
func stripeCalls(orderID string) int {
	n := 0
	for _, c := range the.StripeCalls() {
		if c.OrderID == orderID {
			n++
		}
	}
	return n
}

// intentOf returns the PaymentIntent Stripe made for an order.
func intentOf(t testing.TB, orderID string) string {
	t.Helper()
	for _, c := range the.StripeCalls() {
		if c.OrderID == orderID && c.IntentID != "" {
			return c.IntentID
		}
	}
	t.Fatalf("no intent for order %s", orderID)
	return ""
}

func TestPaidOrderCompletesAndIsChargedOnce(t *testing.T) {
	buyer, o := placedOrder(t, 19.99)
	var p struct{ ID string }
	buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).want(t, 201).json(t, &p)
	if p.ID == "" {
		t.Fatal("no payment id")
	}
	// Complete by the time the payment is answered: payments told orders.
	waitStatus(t, buyer, o.ID, "complete", time.Second)
	msgs := buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).want(t, 400).errorMessages(t)
	if msgs[""] == "" {
		t.Errorf("a second payment: %v, want a message", msgs)
	}
	if n := charges(o.ID); n != 1 {
		t.Errorf("%d charges reached Stripe, want 1", n)
	}
	for _, c := range the.StripeCalls() {
		if c.OrderID == o.ID && c.IdempotencyKey == "" {
			t.Errorf("a charge without an idempotency key: %+v", c)
		}
	}
	// A paid order never expires: well past the window it is still complete.
	eventually(t, time.Until(o.ExpiresAt)+5*time.Second, "the deadline to pass", func() bool { return time.Now().After(o.ExpiresAt.Add(3 * time.Second)) })
	waitHandled(t, 20*time.Second, "expiration:complete", []string{o.ID}, "orders-expiration-complete")
	waitStatus(t, buyer, o.ID, "complete", time.Second)
}

func TestConcurrentDuplicatePaymentsChargeOnce(t *testing.T) {
	buyer, o := placedOrder(t, 42)
	const n = 10
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[201] != 1 || count[201]+count[400]+count[409] != n {
		t.Errorf("statuses %v, want one 201 and the rest 400 or 409", count)
	}
	waitStatus(t, buyer, o.ID, "complete", 15*time.Second)
	if got := charges(o.ID); got != 1 {
		t.Errorf("%d charges reached Stripe for %d identical requests, want 1", got, n)
	}
}

func TestPaymentsThatMustBeRefused(t *testing.T) {
	buyer, o := placedOrder(t, 5)
	stranger := signedUp(t)
	anon := newUser(t)
	anon.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).want(t, 401)
	stranger.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).want(t, 401)
	buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": "nosuchorder0000000000000"}).want(t, 404)
	msgs := buyer.do("POST", "/api/payments", map[string]string{}).want(t, 400).errorMessages(t)
	if msgs["token"] == "" || msgs["orderId"] == "" {
		t.Errorf("missing fields: %v, want a message for token and orderId", msgs)
	}
	buyer.do("DELETE", "/api/orders/"+o.ID, nil).want(t, 204)
	msgs = buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).want(t, 400).errorMessages(t)
	if msgs[""] != "Cannot pay for an cancelled order" {
		t.Errorf("paying a cancelled order: %v", msgs)
	}
	if n := stripeCalls(o.ID); n != 0 {
		t.Errorf("%d requests reached Stripe for refused payments, want 0", n)
	}
}

func TestADeclinedCardLeavesTheOrderPayable(t *testing.T) {
	buyer, o := placedOrder(t, 15)
	msgs := buyer.do("POST", "/api/payments", map[string]string{"token": "tok_chargeDeclined", "orderId": o.ID}).want(t, 400).errorMessages(t)
	if msgs[""] != "Your card was declined." {
		t.Errorf("declined: %v, want Stripe's message", msgs)
	}
	waitStatus(t, buyer, o.ID, "created", time.Second)
	buyer.do("POST", "/api/payments", map[string]string{"token": "pm_card_visa", "orderId": o.ID}).want(t, 201)
	waitStatus(t, buyer, o.ID, "complete", time.Second)
	if n := charges(o.ID); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
}

// signedWebhook signs payload as Stripe does: t=<unix>,v1=HMAC-SHA256(secret, "<t>.<payload>").
func signedWebhook(t testing.TB, secret, payload string, at time.Time) string {
	t.Helper()
	ts := fmt.Sprint(at.Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + payload))
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

func postWebhook(t testing.TB, payload, signature string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", baseURL+"/api/payments/webhook", strings.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A bank that asks its buyer to authenticate (3-D Secure): the payment is
// answered 202 with what Stripe.js needs; a tampered or unsigned webhook
// changes nothing; once the buyer authenticated, Stripe's signed
// payment_intent.succeeded completes the order, once however often it comes.
func TestAnAuthenticatedPaymentCompletesByTheSignedWebhook(t *testing.T) {
	secret, err := the.Secret("stripe-webhook-secret")
	if err != nil {
		t.Fatal(err)
	}
	buyer, o := placedOrder(t, 12)
	var p struct {
		ID           string `json:"id"`
		Status       string `json:"status"`
		ClientSecret string `json:"clientSecret"`
	}
	buyer.do("POST", "/api/payments", map[string]string{"token": "pm_card_threeDSecure2Required", "orderId": o.ID}).want(t, 202).json(t, &p)
	if p.Status != "requires_action" || p.ClientSecret == "" {
		t.Fatalf("answer %+v, want requires_action with a client secret", p)
	}
	waitStatus(t, buyer, o.ID, "awaiting:payment", time.Second)
	intent := intentOf(t, o.ID)
	payload := `{"id":"evt_e2e_` + o.ID + `","object":"event","api_version":"2023-10-16","type":"payment_intent.succeeded","created":` +
		fmt.Sprint(time.Now().Unix()) + `,"data":{"object":{"id":"` + intent + `","object":"payment_intent","amount":1200,"currency":"usd","status":"succeeded","metadata":{"orderId":"` + o.ID + `","paymentId":"` + p.ID + `"}}}}`

	tampered := strings.Replace(payload, `"amount":1200`, `"amount":1`, 1)
	cases := []struct {
		name, body, sig string
	}{
		{"tampered body", tampered, signedWebhook(t, secret, payload, time.Now())},
		{"wrong secret", payload, signedWebhook(t, "whsec_wrong", payload, time.Now())},
		{"stale signature", payload, signedWebhook(t, secret, payload, time.Now().Add(-time.Hour))},
		{"no signature", payload, ""},
	}
	for _, tc := range cases {
		if got := postWebhook(t, tc.body, tc.sig); got != 400 {
			t.Errorf("%s: status %d, want 400", tc.name, got)
		}
	}
	waitStatus(t, buyer, o.ID, "awaiting:payment", time.Second)

	// The buyer authenticates at their bank; Stripe (the test-mode Stripe
	// here) sends the signed payment_intent.succeeded, which completes the
	// order; the same event sent again (Stripe resends) changes nothing.
	if err := the.StripeAuthenticate(intent); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, buyer, o.ID, "complete", 10*time.Second)
	for range 2 { // Stripe resends
		if got := postWebhook(t, payload, signedWebhook(t, secret, payload, time.Now())); got != 200 {
			t.Fatalf("valid webhook: status %d, want 200", got)
		}
	}
	waitStatus(t, buyer, o.ID, "complete", 5*time.Second)
	buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).want(t, 400)
	if n := charges(o.ID); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}
}
