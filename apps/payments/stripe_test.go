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

func newStubCharger(t *testing.T, stub *stripeStub) *stripeCharger {
	t.Helper()
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	return newStripeCharger(log, "sk_test_123", srv.URL, 0)
}

var testCharge = Charge{
	IdempotencyKey: "charge-o1-p1", Token: "tok_visa", Amount: 2050, Currency: "usd",
	Description: "Payment for order o1", OrderID: "o1", PaymentID: "p1",
}

func TestStripeChargerSendsTheCharge(t *testing.T) {
	stub := &stripeStub{status: http.StatusOK, body: `{"id":"ch_123","object":"charge","amount":2050,"currency":"usd","paid":true,"status":"succeeded"}`}
	c := newStubCharger(t, stub)

	id, err := c.charge(context.Background(), testCharge)
	if err != nil {
		t.Fatal(err)
	}
	if id != "ch_123" {
		t.Errorf("charge id %q, want ch_123", id)
	}
	if len(stub.requests) != 1 {
		t.Fatalf("%d requests, want 1", len(stub.requests))
	}
	r, form := stub.requests[0], stub.forms[0]
	if r.Method != http.MethodPost || r.URL.Path != "/v1/charges" {
		t.Errorf("request %s %s, want POST /v1/charges", r.Method, r.URL.Path)
	}
	headers := map[string]string{"Idempotency-Key": "charge-o1-p1", "Authorization": "Bearer sk_test_123"}
	for h, want := range headers {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	params := map[string]string{
		"amount": "2050", "currency": "usd", "source": "tok_visa", "description": "Payment for order o1",
		"metadata[orderId]": "o1", "metadata[paymentId]": "p1",
	}
	for p, want := range params {
		if got := form.Get(p); got != want {
			t.Errorf("param %s = %q, want %q", p, got, want)
		}
	}
}

// TestStripeChargerClassifiesFailures: what each Stripe answer means for the
// claim (released only when nothing can have been charged) and for the buyer.
func TestStripeChargerClassifiesFailures(t *testing.T) {
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
			c := newStubCharger(t, &stripeStub{status: tt.status, body: tt.body})
			_, err := c.charge(context.Background(), testCharge)
			assertChargeError(t, err, tt.wantNotCharged, tt.wantCode, tt.wantMessage)
		})
	}
}

func TestStripeChargerUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more
	c := newStripeCharger(slog.New(slog.NewTextHandler(t.Output(), nil)), "sk_test_123", srv.URL, 0)
	_, err := c.charge(context.Background(), testCharge)
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

// TestStripeChargerAgainstStripeMock sends a real charge request to
// stripe-mock, which validates it against Stripe's OpenAPI description. It
// runs only when STRIPE_MOCK_URL names one (for example
// http://127.0.0.1:12111); stripe-mock is stateless, so it proves the request
// shape, not idempotency.
func TestStripeChargerAgainstStripeMock(t *testing.T) {
	base := os.Getenv("STRIPE_MOCK_URL")
	if base == "" {
		t.Skip("STRIPE_MOCK_URL not set")
	}
	c := newStripeCharger(slog.New(slog.NewTextHandler(t.Output(), nil)), "sk_test_123", base, 0)
	for _, token := range []string{"tok_visa", "pm_card_visa"} {
		t.Run(token, func(t *testing.T) {
			ch := testCharge
			ch.Token = token
			id, err := c.charge(context.Background(), ch)
			if err != nil {
				t.Fatalf("charge: %v", err)
			}
			if !strings.HasPrefix(id, "ch_") {
				t.Errorf("charge id %q, want ch_...", id)
			}
		})
	}
}
