package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
)

// open is the order most payment tests pay for: $20.50 held by buyer.
var open = Order{ID: "o1", UserID: "buyer", Price: 20.5, Status: events.OrderStatusCreated, Version: 0}

func paymentID(t *testing.T, w interface{ Result() *http.Response }) string {
	t.Helper()
	var resp paymentResponse
	if err := json.NewDecoder(w.Result().Body).Decode(&resp); err != nil {
		t.Fatalf("response body: %v", err)
	}
	return resp.ID
}

func TestCreatePaymentChargesAndAnnounces(t *testing.T) {
	a := newTestApp(t)
	a.putOrder(open)

	w := a.pay("o1", "buyer")
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d, want 201; body %s", w.Code, w.Body)
	}
	id := paymentID(t, w)
	if len(id) != 24 {
		t.Errorf("payment id %q: want 24 hex characters", id)
	}

	wantCharges := []Charge{{
		IdempotencyKey: "charge-o1-" + id, Token: "tok_visa", Amount: 2050, Currency: "usd",
		Description: "Payment for order o1", OrderID: "o1", PaymentID: id,
	}}
	if got := a.charger.charges(); !slices.Equal(got, wantCharges) {
		t.Errorf("charges %+v, want %+v", got, wantCharges)
	}
	p, found := a.payment("o1")
	if !found {
		t.Fatal("no payment recorded")
	}
	if p.ID != id || p.Status != PaymentSucceeded || p.StripeID != "ch_1" || p.Amount != 2050 || p.UserID != "buyer" || p.Token != "" {
		t.Errorf("payment %+v, want %s succeeded by ch_1 for 2050 cents, buyer's, token forgotten", p, id)
	}
	wantEvents := []events.Message{events.PaymentCreatedEvent{ID: id, OrderID: "o1", StripeID: "ch_1"}.Message()}
	if got := a.published(); !slices.Equal(got, wantEvents) {
		t.Errorf("published %+v, want %+v", got, wantEvents)
	}
	// The charge must be over before anyone may take the claim over.
	if got, want := a.charger.deadlines[0], p.AttemptAt.Add(a.cfg.TakeoverAfter); !got.Equal(want) {
		t.Errorf("charge deadline %v, want the end of the takeover window %v", got, want)
	}
}

// TestCreatePaymentSurvivesTheBuyerHangingUp: once the order is claimed, a
// cancelled request still charges and records, so no outcome is left unknown.
func TestCreatePaymentSurvivesTheBuyerHangingUp(t *testing.T) {
	fake := sidecartest.NewState()
	hooked := &hookedState{State: fake}
	a := newTestAppOn(t, fake, hooked)
	a.putOrder(open)
	ctx, hangUp := context.WithCancel(context.Background())
	defer hangUp()
	hooked.after = map[int]func(){1: hangUp} // right after the claim is written

	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/payments", strings.NewReader(`{"token":"tok_visa","orderId":"o1"}`))
	token, err := a.keys.Issue("buyer", "buyer@example.com")
	if err != nil {
		t.Fatal(err)
	}
	r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: token})
	a.h.ServeHTTP(httptest.NewRecorder(), r)

	if errs := a.charger.ctxErrs; len(errs) != 1 || errs[0] != nil {
		t.Errorf("charge context errors %v, want one charge with a live context", errs)
	}
	if p, _ := a.payment("o1"); p.Status != PaymentSucceeded {
		t.Errorf("payment %+v, want it recorded as succeeded", p)
	}
	if got := len(a.published()); got != 1 {
		t.Errorf("%d events published, want 1", got)
	}
}

// TestCreatePaymentRefused covers every request that must not reach Stripe.
func TestCreatePaymentRefused(t *testing.T) {
	recent := Payment{ID: "p0", OrderID: "o1", UserID: "buyer", Amount: 2050, Status: PaymentPending, Token: "tok_visa", AttemptAt: time.Now().UTC()}
	paid := Payment{ID: "p0", OrderID: "o1", UserID: "buyer", Amount: 2050, Status: PaymentSucceeded, StripeID: "ch_0", AttemptAt: time.Now().UTC().Add(-time.Hour), Version: 1}
	cancelled := open
	cancelled.Status, cancelled.Version = events.OrderStatusCancelled, 1
	tests := []struct {
		name       string
		order      *Order
		payment    *Payment
		user, body string
		wantStatus int
		wantErrors []string
	}{
		{
			name: "not signed in", order: &open, user: "", body: `{"token":"tok_visa","orderId":"o1"}`,
			wantStatus: http.StatusUnauthorized, wantErrors: []string{"Not authorized"},
		},
		{
			name: "both fields missing", order: &open, user: "buyer", body: `{}`,
			wantStatus: http.StatusBadRequest, wantErrors: []string{"orderId: OrderId must be provided", "token: Token must be provided"},
		},
		{
			name: "a body that is not JSON", order: &open, user: "buyer", body: `token=tok_visa`,
			wantStatus: http.StatusBadRequest, wantErrors: []string{"Request body must be a JSON object"},
		},
		{
			name: "an order payments has not heard of", user: "buyer", body: `{"token":"tok_visa","orderId":"o1"}`,
			wantStatus: http.StatusNotFound, wantErrors: []string{"Not Found"},
		},
		{
			name: "someone else's order", order: &open, user: "stranger", body: `{"token":"tok_visa","orderId":"o1"}`,
			wantStatus: http.StatusUnauthorized, wantErrors: []string{"Not authorized"},
		},
		{
			name: "a cancelled order", order: &cancelled, user: "buyer", body: `{"token":"tok_visa","orderId":"o1"}`,
			wantStatus: http.StatusBadRequest, wantErrors: []string{"Cannot pay for an cancelled order"},
		},
		{
			name: "an order already paid", order: &open, payment: &paid, user: "buyer", body: `{"token":"tok_visa","orderId":"o1"}`,
			wantStatus: http.StatusBadRequest, wantErrors: []string{"Order has already been paid"},
		},
		{
			name: "an order another request is paying", order: &open, payment: &recent, user: "buyer", body: `{"token":"tok_visa","orderId":"o1"}`,
			wantStatus: http.StatusConflict, wantErrors: []string{"A payment for this order is in progress"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			if tt.order != nil {
				a.putOrder(*tt.order)
			}
			if tt.payment != nil {
				a.putPayment(*tt.payment)
			}
			before, _ := a.payment("o1")

			w := a.do(http.MethodPost, "/api/payments", tt.body, tt.user)
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if got := errorMessages(t, w); !slices.Equal(got, tt.wantErrors) {
				t.Errorf("errors %q, want %q", got, tt.wantErrors)
			}
			if n := len(a.charger.charges()); n != 0 {
				t.Errorf("%d charges, want none", n)
			}
			if after, _ := a.payment("o1"); after != before {
				t.Errorf("payment changed from %+v to %+v", before, after)
			}
			if got := a.published(); len(got) != 0 {
				t.Errorf("published %+v, want nothing", got)
			}
		})
	}
}

func TestCreatePaymentTwiceChargesOnce(t *testing.T) {
	a := newTestApp(t)
	a.putOrder(open)
	if w := a.pay("o1", "buyer"); w.Code != http.StatusCreated {
		t.Fatalf("first payment: status %d, want 201", w.Code)
	}
	w := a.pay("o1", "buyer")
	if w.Code != http.StatusBadRequest {
		t.Errorf("second payment: status %d, want 400", w.Code)
	}
	if got, want := errorMessages(t, w), []string{"Order has already been paid"}; !slices.Equal(got, want) {
		t.Errorf("second payment: errors %q, want %q", got, want)
	}
	if got := len(a.charger.charges()); got != 1 {
		t.Errorf("%d charges, want 1", got)
	}
	if got := len(a.published()); got != 1 {
		t.Errorf("%d events published, want 1", got)
	}
}

// TestConcurrentPaymentsForOneOrderChargeOnce holds the first charge until
// every other request has answered: they must all find the claim and answer
// 409 without reaching Stripe; then the charge completes with the only 201.
func TestConcurrentPaymentsForOneOrderChargeOnce(t *testing.T) {
	const n = 8
	a := newTestApp(t)
	a.putOrder(open)
	release := make(chan struct{})
	a.charger.answer = func(call int, c Charge) (string, error) {
		if call == 1 {
			<-release
		}
		return fmt.Sprintf("ch_%d", call), nil
	}

	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { codes <- a.pay("o1", "buyer").Code })
	}
	got := map[int]int{}
	for range n - 1 {
		got[<-codes]++
	}
	close(release)
	wg.Wait()
	got[<-codes]++

	want := map[int]int{http.StatusCreated: 1, http.StatusConflict: n - 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if calls := len(a.charger.charges()); calls != 1 {
		t.Errorf("%d charges, want exactly 1", calls)
	}
	if msgs := a.published(); len(msgs) != 1 {
		t.Errorf("published %+v, want one payment:created", msgs)
	}
}

func TestCreatePaymentTakesOverAnAbandonedClaim(t *testing.T) {
	a := newTestApp(t)
	a.putOrder(open)
	// A request claimed the order an hour ago and never finished (it crashed,
	// or Stripe never answered).
	abandoned := Payment{ID: "p0", OrderID: "o1", UserID: "buyer", Amount: 2050, Status: PaymentPending, Token: "tok_first", AttemptAt: time.Now().UTC().Add(-time.Hour)}
	a.putPayment(abandoned)

	w := a.do(http.MethodPost, "/api/payments", `{"token":"tok_second","orderId":"o1"}`, "buyer")
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d, want 201; body %s", w.Code, w.Body)
	}
	if id := paymentID(t, w); id != "p0" {
		t.Errorf("payment id %q, want the claim's p0", id)
	}
	// The same request as the abandoned one: Stripe replays its first answer.
	wantCharges := []Charge{{
		IdempotencyKey: "charge-o1-p0", Token: "tok_first", Amount: 2050, Currency: "usd",
		Description: "Payment for order o1", OrderID: "o1", PaymentID: "p0",
	}}
	if got := a.charger.charges(); !slices.Equal(got, wantCharges) {
		t.Errorf("charges %+v, want %+v", got, wantCharges)
	}
	if p, _ := a.payment("o1"); p.Status != PaymentSucceeded || p.StripeID != "ch_1" {
		t.Errorf("payment %+v, want succeeded by ch_1", p)
	}
}

// TestCreatePaymentChargeFails checks what each kind of charge failure leaves
// behind: a refused charge frees the order, an unknown outcome keeps it
// claimed, and no failure leaks details.
func TestCreatePaymentChargeFails(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantErrors []string
		wantClaim  bool
	}{
		{
			name:       "a declined card",
			err:        notCharged(apperr.New(apperr.Rule, "Your card has insufficient funds.")),
			wantStatus: http.StatusBadRequest, wantErrors: []string{"Your card has insufficient funds."},
		},
		{
			name:       "a request Stripe rejects",
			err:        notCharged(apperr.New(apperr.Rule, "No such token: 'tok_gone'")),
			wantStatus: http.StatusBadRequest, wantErrors: []string{"No such token: 'tok_gone'"},
		},
		{
			name:       "our credentials refused",
			err:        notCharged(errors.New("stripe refused our credentials (401): Invalid API Key provided: sk_test_****")),
			wantStatus: http.StatusInternalServerError, wantErrors: []string{"Something went wrong"},
		},
		{
			name:       "Stripe unreachable",
			err:        fmt.Errorf("%w: stripe: dial tcp: connection refused", ErrProviderUnavailable),
			wantStatus: http.StatusServiceUnavailable, wantErrors: []string{"Payment provider unavailable; try again shortly"},
			wantClaim: true,
		},
		{
			name:       "a failure nobody expected",
			err:        errors.New("stripe: unexpected end of JSON input"),
			wantStatus: http.StatusInternalServerError, wantErrors: []string{"Something went wrong"},
			wantClaim: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			a.putOrder(open)
			a.charger.answer = func(int, Charge) (string, error) { return "", tt.err }

			w := a.pay("o1", "buyer")
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if got := errorMessages(t, w); !slices.Equal(got, tt.wantErrors) {
				t.Errorf("errors %q, want %q", got, tt.wantErrors)
			}
			p, found := a.payment("o1")
			if found != tt.wantClaim {
				t.Fatalf("claim kept = %v (%+v), want %v", found, p, tt.wantClaim)
			}
			if found && p.Status != PaymentPending {
				t.Errorf("claim %+v, want pending", p)
			}
			if got := a.published(); len(got) != 0 {
				t.Errorf("published %+v, want nothing", got)
			}

			// What the buyer's next attempt meets: a free order is charged
			// again under a new key; a kept claim waits for the takeover window.
			a.charger.answer = nil
			again := a.pay("o1", "buyer")
			calls := a.charger.charges()
			if tt.wantClaim {
				if again.Code != http.StatusConflict || len(calls) != 1 {
					t.Errorf("retry: status %d after %d charges, want 409 after 1", again.Code, len(calls))
				}
				return
			}
			if again.Code != http.StatusCreated || len(calls) != 2 {
				t.Fatalf("retry: status %d after %d charges, want 201 after 2", again.Code, len(calls))
			}
			if calls[0].IdempotencyKey == calls[1].IdempotencyKey {
				t.Errorf("retry reused the idempotency key %s of a refused charge", calls[0].IdempotencyKey)
			}
		})
	}
}

// TestCreatePaymentResumesAfterTheRecordFailed: the charge succeeded but the
// store failed to record it; the claim stays, and the takeover charges again
// under the same key (Stripe answers with the charge it made) and records it.
func TestCreatePaymentResumesAfterTheRecordFailed(t *testing.T) {
	a := newTestApp(t)
	a.putOrder(open)
	a.charger.answer = func(call int, c Charge) (string, error) {
		a.state.FailNext = fmt.Errorf("transaction: %w", sidecar.ErrUnavailable)
		return "ch_made", nil
	}
	if w := a.pay("o1", "buyer"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", w.Code)
	}
	claim, found := a.payment("o1")
	if !found || claim.Status != PaymentPending {
		t.Fatalf("claim %+v (found %v), want it kept pending", claim, found)
	}

	// The window passes.
	claim.AttemptAt = claim.AttemptAt.Add(-time.Hour)
	a.putPayment(claim)
	a.charger.answer = func(int, Charge) (string, error) { return "ch_made", nil }
	w := a.pay("o1", "buyer")
	if w.Code != http.StatusCreated {
		t.Fatalf("resumed: status %d, want 201", w.Code)
	}
	calls := a.charger.charges()
	if len(calls) != 2 || calls[0] != calls[1] {
		t.Errorf("charges %+v, want the same request twice", calls)
	}
	want := []events.Message{events.PaymentCreatedEvent{ID: claim.ID, OrderID: "o1", StripeID: "ch_made"}.Message()}
	if got := a.published(); !slices.Equal(got, want) {
		t.Errorf("published %+v, want %+v", got, want)
	}
}

// TestCreatePaymentAfterTheWebhookConfirmedIt: Stripe's webhook arrives while
// the request is still waiting for the charge's answer. Both confirm one
// payment; payment:created is committed once and the request still gets 201.
func TestCreatePaymentAfterTheWebhookConfirmedIt(t *testing.T) {
	a := newTestApp(t)
	a.putOrder(open)
	a.charger.answer = func(_ int, c Charge) (string, error) {
		hook := a.webhook(chargeSucceeded("ch_1", 2050, c.OrderID, c.PaymentID), time.Now())
		if hook.Code != http.StatusOK {
			t.Errorf("webhook: status %d, want 200", hook.Code)
		}
		return "ch_1", nil
	}
	w := a.pay("o1", "buyer")
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d, want 201; body %s", w.Code, w.Body)
	}
	id := paymentID(t, w)
	want := []events.Message{events.PaymentCreatedEvent{ID: id, OrderID: "o1", StripeID: "ch_1"}.Message()}
	if got := a.published(); !slices.Equal(got, want) {
		t.Errorf("published %+v, want %+v", got, want)
	}
}

func TestCreatePaymentStoreUnavailable(t *testing.T) {
	fake := sidecartest.NewState()
	a := newTestAppOn(t, fake, failingState{State: fake, err: fmt.Errorf("get: %w: connection refused", sidecar.ErrUnavailable)})
	w := a.pay("o1", "buyer")
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", w.Code)
	}
	if body := w.Body.String(); strings.Contains(body, "connection refused") {
		t.Errorf("body %s leaks the cause", body)
	}
	if n := len(a.charger.charges()); n != 0 {
		t.Errorf("%d charges, want none", n)
	}
}

// TestCreatePaymentDeclinedButNotReleased: the card is declined and the store
// fails to delete the claim. The buyer still reads the decline; the claim
// stays until the takeover window frees it.
func TestCreatePaymentDeclinedButNotReleased(t *testing.T) {
	a := newTestApp(t)
	a.putOrder(open)
	a.charger.answer = func(int, Charge) (string, error) {
		a.state.FailNext = fmt.Errorf("transaction: %w", sidecar.ErrUnavailable)
		return "", notCharged(ErrCardDeclined)
	}
	w := a.pay("o1", "buyer")
	if got, want := errorMessages(t, w), []string{"Your card was declined"}; w.Code != http.StatusBadRequest || !slices.Equal(got, want) {
		t.Errorf("answer %d %q, want 400 %q", w.Code, got, want)
	}
	if p, found := a.payment("o1"); !found || p.Status != PaymentPending {
		t.Errorf("claim %+v (found %v), want it still pending", p, found)
	}
}
