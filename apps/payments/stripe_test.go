package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// stripeStub is a server speaking just enough of Stripe's API: it records the
// charge requests and answers each with status and body.
type stripeStub struct {
	mu       sync.Mutex
	requests []*http.Request
	forms    []url.Values
	status   int
	body     string
}

func (s *stripeStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(b))
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.forms = append(s.forms, form)
	status, body := s.status, s.body
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func newStubProvider(t *testing.T, stub *stripeStub) *stripeProvider {
	t.Helper()
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	return newStripeProvider(log, "sk_test_123", srv.URL, "", 0)
}

var testAttempt = Payment{ID: "p1", OrderID: "o1", UserID: "buyer", Amount: 2050, Status: PaymentPending, Method: "tok_visa"}

// sequenced answers each request with the next of answers (the last again).
type sequenced struct {
	stripeStub
	answers []string
}

func (s *sequenced) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.requests)
	s.status = http.StatusOK
	s.body = s.answers[min(n, len(s.answers)-1)]
	s.mu.Unlock()
	s.stripeStub.ServeHTTP(w, r)
}

func TestStripeProviderMakesThenConfirmsTheIntent(t *testing.T) {
	stub := &sequenced{answers: []string{
		`{"id":"pm_1","object":"payment_method","type":"card"}`,
		`{"id":"pi_1","object":"payment_intent","amount":2050,"currency":"usd","status":"requires_confirmation","client_secret":"pi_1_secret"}`,
		`{"id":"pi_1","object":"payment_intent","amount":2050,"currency":"usd","status":"succeeded","client_secret":"pi_1_secret"}`,
	}}
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	p := newStripeProvider(slog.New(slog.NewTextHandler(t.Output(), nil)), "sk_test_123", srv.URL, "", 0)
	in, err := p.pay(context.Background(), testAttempt)
	if err != nil || in.ID != "pi_1" || in.Status != "succeeded" {
		t.Fatalf("pay = %+v, %v; want pi_1 succeeded", in, err)
	}
	want := []struct{ path, key string }{
		{"/v1/payment_methods", "method-o1-p1"},
		{"/v1/payment_intents", "intent-o1-p1"},
		{"/v1/payment_intents/pi_1/confirm", "confirm-o1-p1"},
	}
	if len(stub.requests) != len(want) {
		t.Fatalf("%d requests, want %d", len(stub.requests), len(want))
	}
	for i, w := range want {
		if r := stub.requests[i]; r.URL.Path != w.path || r.Header.Get("Idempotency-Key") != w.key {
			t.Errorf("request %d: %s key %q, want %s key %q", i, r.URL.Path, r.Header.Get("Idempotency-Key"), w.path, w.key)
		}
	}
	if f := stub.forms[0]; f.Get("card[token]") != "tok_visa" || f.Get("type") != "card" {
		t.Errorf("payment method made with %v, want the token as a card", f)
	}
	if f := stub.forms[1]; f.Get("amount") != "2050" || f.Get("currency") != "usd" || f.Get("payment_method") != "pm_1" ||
		f.Get("metadata[orderId]") != "o1" || f.Get("metadata[paymentId]") != "p1" || f.Get("confirm") != "" {
		t.Errorf("intent made with %v, want 2050 usd with pm_1, the order's metadata, unconfirmed", f)
	}
	t.Run("a payment method goes in as it is", func(t *testing.T) {
		stub := &sequenced{answers: []string{`{"id":"pi_2","object":"payment_intent","status":"requires_confirmation"}`, `{"id":"pi_2","object":"payment_intent","status":"requires_action","client_secret":"s"}`}}
		srv := httptest.NewServer(stub)
		t.Cleanup(srv.Close)
		p := newStripeProvider(slog.New(slog.NewTextHandler(t.Output(), nil)), "sk_test_123", srv.URL, "", 0)
		a := testAttempt
		a.Method = "pm_card_threeDSecure2Required"
		in, err := p.pay(context.Background(), a)
		if err != nil || in.Status != "requires_action" || in.ClientSecret != "s" {
			t.Fatalf("pay = %+v, %v", in, err)
		}
		if len(stub.requests) != 2 || stub.forms[0].Get("payment_method") != "pm_card_threeDSecure2Required" {
			t.Errorf("requests %d, first form %v", len(stub.requests), stub.forms[0])
		}
	})
	t.Run("the bank's page sends the buyer back to the order's page", func(t *testing.T) {
		stub := &sequenced{answers: []string{`{"id":"pi_3","object":"payment_intent","status":"requires_confirmation"}`,
			`{"id":"pi_3","object":"payment_intent","status":"requires_action","client_secret":"s",` +
				`"next_action":{"type":"redirect_to_url","redirect_to_url":{"url":"https://hooks.stripe.com/3d_secure/pi_3","return_url":"https://tix.example/orders/o1"}}}`}}
		srv := httptest.NewServer(stub)
		t.Cleanup(srv.Close)
		p := newStripeProvider(slog.New(slog.NewTextHandler(t.Output(), nil)), "sk_test_123", srv.URL, "https://tix.example/", 0)
		a := testAttempt
		a.Method = "pm_card_threeDSecure2Required"
		in, err := p.pay(context.Background(), a)
		if err != nil || in.NextActionURL != "https://hooks.stripe.com/3d_secure/pi_3" {
			t.Fatalf("pay = %+v, %v; want the bank's page", in, err)
		}
		if got := stub.forms[1].Get("return_url"); got != "https://tix.example/orders/o1" {
			t.Errorf("confirmed with return_url %q, want the order's page", got)
		}
	})
}

func TestStripeProviderClassifiesFailures(t *testing.T) {
	tests := []struct {
		name           string
		status         int
		body           string
		wantNotCharged bool
		wantCode       apperr.Code
		wantMessage    string // what the buyer reads
	}{
		{
			name: "a declined card", status: http.StatusPaymentRequired,
			body:           `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`,
			wantNotCharged: true, wantCode: apperr.Rule, wantMessage: "Your card has insufficient funds.",
		},
		{
			name: "a declined card without a message", status: http.StatusPaymentRequired,
			body:           `{"error":{"type":"card_error","code":"card_declined"}}`,
			wantNotCharged: true, wantCode: apperr.Rule, wantMessage: "Your card was declined",
		},
		{
			name: "an unknown token", status: http.StatusBadRequest,
			body:           `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"source","message":"No such token: 'tok_nope'"}}`,
			wantNotCharged: true, wantCode: apperr.Rule, wantMessage: "No such token: 'tok_nope'",
		},
		{
			name: "a wrong API key", status: http.StatusUnauthorized,
			body:           `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****"}}`,
			wantNotCharged: true, wantCode: apperr.Internal, wantMessage: "Something went wrong",
		},
		{
			name: "rate limited", status: http.StatusTooManyRequests,
			body:           `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`,
			wantNotCharged: true, wantCode: apperr.Unavailable, wantMessage: "Payment provider unavailable; try again shortly",
		},
		{
			name: "Stripe failing", status: http.StatusInternalServerError,
			body:           `{"error":{"type":"api_error","message":"Something went wrong on Stripe's end."}}`,
			wantNotCharged: false, wantCode: apperr.Unavailable, wantMessage: "Payment provider unavailable; try again shortly",
		},
		{
			name: "the same key still in flight", status: http.StatusConflict,
			body:           `{"error":{"type":"idempotency_error","message":"There is currently another in-progress request using this Idempotent Key"}}`,
			wantNotCharged: false, wantCode: apperr.Unavailable, wantMessage: "Payment provider unavailable; try again shortly",
		},
		{
			name: "a gateway answering HTML", status: http.StatusBadGateway,
			body:           `<html>bad gateway</html>`,
			wantNotCharged: false, wantCode: apperr.Unavailable, wantMessage: "Payment provider unavailable; try again shortly",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newStubProvider(t, &stripeStub{status: tt.status, body: tt.body})
			_, err := p.pay(context.Background(), testAttempt)
			assertChargeError(t, err, tt.wantNotCharged, tt.wantCode, tt.wantMessage)
		})
	}
}

func TestStripeProviderUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more
	p := newStripeProvider(slog.New(slog.NewTextHandler(t.Output(), nil)), "sk_test_123", srv.URL, "", 0)
	_, err := p.pay(context.Background(), testAttempt)
	assertChargeError(t, err, false, apperr.Unavailable, "Payment provider unavailable; try again shortly")
}

func assertChargeError(t *testing.T, err error, wantNotCharged bool, wantCode apperr.Code, wantMessage string) {
	t.Helper()
	if err == nil {
		t.Fatal("charge succeeded, want an error")
	}
	if got := errors.Is(err, ErrNotCharged); got != wantNotCharged {
		t.Errorf("not charged = %v, want %v (err %v)", got, wantNotCharged, err)
	}
	if got := apperr.CodeOf(err); got != wantCode {
		t.Errorf("code %s, want %s (err %v)", got, wantCode, err)
	}
	if got := web.Body(err).Errors[0].Message; got != wantMessage {
		t.Errorf("buyer reads %q, want %q", got, wantMessage)
	}
}

// TestStripeProviderAgainstStripeMock sends real requests to stripe-mock,
// which validates them against Stripe's OpenAPI description. It runs only
// when STRIPE_MOCK_URL names one (for example http://127.0.0.1:12111);
// stripe-mock keeps no state and decides no outcome (every intent comes back
// requires_payment_method), so this proves the requests' shape: the end to
// end suite runs the outcomes through the runner's test-mode Stripe.
func TestStripeProviderAgainstStripeMock(t *testing.T) {
	base := os.Getenv("STRIPE_MOCK_URL")
	if base == "" {
		t.Skip("STRIPE_MOCK_URL not set")
	}
	p := newStripeProvider(slog.New(slog.NewTextHandler(t.Output(), nil)), "sk_test_123", base, "", 0)
	for _, method := range []string{"tok_visa", "pm_card_visa"} {
		t.Run(method, func(t *testing.T) {
			a := testAttempt
			a.Method = method
			in, err := p.pay(context.Background(), a)
			if err != nil {
				t.Fatalf("pay: %v", err)
			}
			if !strings.HasPrefix(in.ID, "pi_") {
				t.Errorf("intent id %q, want pi_...", in.ID)
			}
			if _, err := p.cancel(context.Background(), in.ID); err != nil {
				t.Errorf("cancel: %v", err)
			}
			if err := p.refund(context.Background(), Refund{IntentID: in.ID, OrderID: "o1", IdempotencyKey: "refund-o1"}); err != nil {
				t.Errorf("refund: %v", err)
			}
		})
	}
}
