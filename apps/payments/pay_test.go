package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestAPayableOrderIsPaidOnce(t *testing.T) {
	a := newTestApp(t)
	a.orders.add("o1", "buyer", 20.5)
	w := a.pay("o1", "buyer", "tok_visa")
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d %s, want 201", w.Code, w.Body)
	}
	var body map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	p, found := a.payment("o1")
	if !found || p.Status != PaymentSucceeded || p.Amount != 2050 || p.StripeID != "pi_1" || body["id"] != p.ID || len(body) != 1 {
		t.Fatalf("payment %+v, answer %v; want succeeded for 2050 cents, answered as the original's {id}", p, body)
	}
	if ids := a.published(); !slices.Equal(ids, []string{"payment:created/o1"}) {
		t.Errorf("published %v, want payment:created", ids)
	}
	if !slices.Equal(a.orders.paid, []string{"o1"}) || a.orders.status("o1") != "complete" {
		t.Errorf("orders told paid %v (status %s), want o1 complete", a.orders.paid, a.orders.status("o1"))
	}
	// Paying again: orders says it is paid; Stripe is not called.
	if w := a.pay("o1", "buyer", "tok_visa"); w.Code != http.StatusBadRequest || errorBody(t, w).Errors[0].Message != "Order has already been paid" {
		t.Errorf("second payment: %d %s", w.Code, w.Body)
	}
	if confirms, _, _ := a.stripe.counts(); confirms != 1 {
		t.Errorf("%d confirmations, want 1", confirms)
	}
}

func TestABuyerAnswered201FindsTheOrderCompleteWhenOrdersFailedOnce(t *testing.T) {
	a := newTestApp(t)
	a.orders.add("o1", "buyer", 20)
	a.orders.paidFailures = paidRetries
	if w := a.pay("o1", "buyer", "tok_visa"); w.Code != http.StatusCreated {
		t.Fatalf("status %d %s, want 201", w.Code, w.Body)
	}
	if a.orders.status("o1") != "complete" {
		t.Errorf("order %s, want complete: orders is told again when it answered with a failure", a.orders.status("o1"))
	}
}

func TestPaymentsOrdersRefuseNeverReachStripe(t *testing.T) {
	for _, tt := range []struct {
		name   string
		setup  func(*testApp)
		user   string
		status int
		msg    string
	}{
		{"an unknown order", func(*testApp) {}, "buyer", 404, "Not Found"},
		{"someone else's", func(a *testApp) { a.orders.add("o1", "buyer", 20) }, "stranger", 401, "Not authorized"},
		{"a cancelled one", func(a *testApp) { a.orders.add("o1", "buyer", 20); a.orders.setStatus("o1", "cancelled") }, "buyer", 400, "Cannot pay for an cancelled order"},
		{"orders unreachable", func(a *testApp) { a.orders.add("o1", "buyer", 20); a.orders.unreachable = true }, "buyer", 503, "A service is unavailable; try again shortly"},
		{"one payments gave up (abandoned)", func(a *testApp) {
			a.orders.add("o1", "buyer", 20)
			a.putPayment(Payment{ID: "p0", OrderID: "o1", Status: PaymentAbandoned})
		}, "buyer", 400, "Cannot pay for an cancelled order"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			tt.setup(a)
			w := a.pay("o1", tt.user, "tok_visa")
			if w.Code != tt.status || errorBody(t, w).Errors[0].Message != tt.msg {
				t.Errorf("status %d %s, want %d %s", w.Code, w.Body, tt.status, tt.msg)
			}
			if confirms, _, _ := a.stripe.counts(); confirms != 0 || len(a.stripe.intents) != 0 {
				t.Errorf("Stripe was called (%d intents)", len(a.stripe.intents))
			}
			if len(a.published()) != 0 {
				t.Errorf("published %v", a.published())
			}
		})
	}
}

func TestADeclinedCardFreesTheOrderForAnother(t *testing.T) {
	a := newTestApp(t)
	a.orders.add("o1", "buyer", 20)
	w := a.pay("o1", "buyer", "pm_card_chargeDeclined")
	if w.Code != http.StatusBadRequest || errorBody(t, w).Errors[0].Message != "Your card was declined." {
		t.Fatalf("status %d %s, want 400 with Stripe's message", w.Code, w.Body)
	}
	if _, found := a.payment("o1"); found {
		t.Error("the declined attempt's claim is still held")
	}
	if !slices.Equal(a.orders.unpaid, []string{"o1"}) || a.orders.status("o1") != "created" {
		t.Errorf("orders told unpaid %v, status %s; want payable again", a.orders.unpaid, a.orders.status("o1"))
	}
	if w := a.pay("o1", "buyer", "pm_card_visa"); w.Code != http.StatusCreated {
		t.Errorf("another card: %d %s, want 201", w.Code, w.Body)
	}
}

func TestStripeUnreachableKeepsTheAttemptForTheSettling(t *testing.T) {
	a := newTestApp(t)
	a.orders.add("o1", "buyer", 20)
	w := a.pay("o1", "buyer", "down")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d %s, want 503", w.Code, w.Body)
	}
	if p, found := a.payment("o1"); !found || p.Status != PaymentPending {
		t.Errorf("payment %+v, want the attempt kept pending", p)
	}
	if w := a.pay("o1", "buyer", "tok_visa"); w.Code != http.StatusConflict {
		t.Errorf("a second request meanwhile: %d, want 409", w.Code)
	}
}

func TestAPaymentTheBuyersBankQuestionsWaitsForThem(t *testing.T) {
	a := newTestApp(t)
	a.orders.add("o1", "buyer", 20)
	w := a.pay("o1", "buyer", "pm_card_threeDSecure2Required")
	var body paymentResponse
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusAccepted || body.Status != PaymentRequiresAction || body.ClientSecret != "pi_1_secret" {
		t.Fatalf("status %d %s, want 202 with the client secret", w.Code, w.Body)
	}
	// The buyer's page asks again: the same answer, no second payment.
	if w := a.pay("o1", "buyer", "pm_card_threeDSecure2Required"); w.Code != http.StatusAccepted {
		t.Errorf("asked again: %d %s, want 202", w.Code, w.Body)
	}
	if w := a.pay("o1", "stranger", "pm_card_visa"); w.Code == http.StatusAccepted || w.Code == http.StatusCreated {
		t.Errorf("someone else: %d, want a refusal", w.Code)
	}
	if confirms, _, _ := a.stripe.counts(); confirms != 1 || len(a.published()) != 0 || a.orders.status("o1") != "awaiting:payment" {
		t.Errorf("%d confirmations, published %v, order %s", confirms, a.published(), a.orders.status("o1"))
	}
}

func TestConcurrentPaymentsForOneOrderPayOnce(t *testing.T) {
	a := newTestApp(t)
	a.orders.add("o1", "buyer", 20)
	const n = 20
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { codes[i] = a.pay("o1", "buyer", "tok_visa").Code })
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusConflict, http.StatusBadRequest:
		default:
			t.Errorf("an answer %d", c)
		}
	}
	if confirms, _, _ := a.stripe.counts(); created != 1 || confirms != 1 {
		t.Errorf("%d created, %d confirmations; want 1 and 1", created, confirms)
	}
}

func TestAPaymentThatLandsOnACancelledOrderIsRefunded(t *testing.T) {
	a := newTestApp(t)
	a.orders.add("o1", "buyer", 20)
	// orders cancels the order after holding it, as the money is taken (only
	// a payment that outlived its settlement can see this).
	a.orders.cancelAfterPay = "o1"
	w := a.pay("o1", "buyer", "tok_visa")
	if w.Code != http.StatusBadRequest || errorBody(t, w).Errors[0].Message != "Cannot pay for an cancelled order" {
		t.Fatalf("status %d %s, want 400", w.Code, w.Body)
	}
	if _, _, refunds := a.stripe.counts(); refunds != 1 {
		t.Errorf("%d refunds, want 1", refunds)
	}
	if p, _ := a.payment("o1"); p.Status != PaymentRefunded {
		t.Errorf("payment %+v, want refunded", p)
	}
}

func TestBadInputIsRefusedInTheErrorShape(t *testing.T) {
	a := newTestApp(t)
	a.orders.add("o1", "buyer", 20)
	for body, want := range map[string]string{
		`{}`:                                    "orderId: OrderId must be provided|token: Token must be provided",
		`{"token":"tok_visa"}`:                  "orderId: OrderId must be provided",
		`{"token":7,"orderId":"o1"}`:            "",
		`{"token":{"x":1},"orderId":"o1"}`:      "token: Token must be provided",
		`{"token":"tok\u0000","orderId":"o1"}`:  "token: Token must be plain text of at most 1000 characters",
		`{"token":"tok_visa","orderId":["o1"]}`: "orderId: OrderId must be provided",
		`[]`:                                    ": Request body must be a JSON object",
	} {
		w := a.do(http.MethodPost, "/api/payments", body, "buyer")
		if want == "" {
			continue // a number is its text: "7" is no card Stripe knows
		}
		var got []string
		for _, e := range errorBody(t, w).Errors {
			got = append(got, e.Field+": "+e.Message)
		}
		slices.Sort(got)
		if w.Code != http.StatusBadRequest || strings.Join(got, "|") != want {
			t.Errorf("%s: %d %v, want 400 %s", body, w.Code, got, want)
		}
	}
}
