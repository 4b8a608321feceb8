package main

import (
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestPaymentRequestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   paymentRequest
		want map[string]string
	}{
		{"both given", paymentRequest{Token: "tok_visa", OrderID: "o1"}, map[string]string{}},
		{"token missing", paymentRequest{OrderID: "o1"}, map[string]string{"token": "Token must be provided"}},
		{"order id blank", paymentRequest{Token: "tok_visa", OrderID: "  "}, map[string]string{"orderId": "OrderId must be provided"}},
		{"both missing", paymentRequest{}, map[string]string{"token": "Token must be provided", "orderId": "OrderId must be provided"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Validate(); !maps.Equal(got, tt.want) {
				t.Errorf("Validate() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOrderFromCreated(t *testing.T) {
	ev := events.OrderCreatedEvent{ID: "o1", Version: 0, Status: events.OrderStatusCreated, UserID: "u1", ExpiresAt: t0, Ticket: events.OrderTicket{ID: "t1", Price: 20.5}}
	want := Order{ID: "o1", UserID: "u1", Price: 20.5, Status: events.OrderStatusCreated, Version: 0}
	if got := orderFromCreated(ev); got != want {
		t.Errorf("orderFromCreated = %+v, want %+v", got, want)
	}
}

func TestOrderCancel(t *testing.T) {
	created := Order{ID: "o1", UserID: "u1", Price: 10, Status: events.OrderStatusCreated, Version: 0}
	cancelled := created
	cancelled.Status, cancelled.Version = events.OrderStatusCancelled, 1
	tests := []struct {
		name        string
		order       Order
		version     int64
		want        Order
		wantChanged bool
		wantErr     error
	}{
		{"the next version cancels", created, 1, cancelled, true, nil},
		{"the same version again changes nothing", cancelled, 1, cancelled, false, nil},
		{"an older version changes nothing", cancelled, 0, cancelled, false, nil},
		{"a version after a gap waits", created, 2, created, false, ErrVersionGap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := tt.order.cancel(tt.version)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want || changed != tt.wantChanged {
				t.Errorf("cancel(%d) = %+v, %v; want %+v, %v", tt.version, got, changed, tt.want, tt.wantChanged)
			}
		})
	}
}

func TestOrderCheckPayable(t *testing.T) {
	tests := []struct {
		name   string
		status events.OrderStatus
		user   string
		want   error
	}{
		{"the buyer pays a created order", events.OrderStatusCreated, "buyer", nil},
		{"someone else may not", events.OrderStatusCreated, "stranger", ErrNotOwner},
		{"a cancelled order cannot be paid", events.OrderStatusCancelled, "buyer", ErrOrderCancelled},
		{"someone else's cancelled order is not theirs first", events.OrderStatusCancelled, "stranger", ErrNotOwner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Order{ID: "o1", UserID: "buyer", Price: 10, Status: tt.status}
			if got := o.checkPayable(tt.user); !errors.Is(got, tt.want) {
				t.Errorf("checkPayable(%q) = %v, want %v", tt.user, got, tt.want)
			}
		})
	}
}

func TestCents(t *testing.T) {
	tests := []struct {
		name  string
		price float64
		want  int64
	}{
		{"whole dollars", 20, 2000},
		{"cents", 20.5, 2050},
		{"a float that is just under", 0.29, 29},              // 0.29*100 is 28.999999999999996
		{"a float stored just under half a cent", 1.005, 100}, // 1.00499999999999989...
		{"half a cent rounds away from zero", 10.125, 1013},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cents(tt.price); got != tt.want {
				t.Errorf("cents(%v) = %d, want %d", tt.price, got, tt.want)
			}
		})
	}
}

func TestNewClaim(t *testing.T) {
	o := Order{ID: "o1", UserID: "buyer", Price: 20.5, Status: events.OrderStatusCreated}
	got := newClaim(o, "buyer", " tok_visa ", t0)
	if len(got.ID) != 24 {
		t.Errorf("id %q: want 24 hex characters", got.ID)
	}
	want := Payment{ID: got.ID, OrderID: "o1", UserID: "buyer", Amount: 2050, Status: PaymentPending, Token: "tok_visa", AttemptAt: t0}
	if got != want {
		t.Errorf("newClaim = %+v, want %+v", got, want)
	}
	if other := newClaim(o, "buyer", "tok_visa", t0); other.ID == got.ID {
		t.Errorf("two claims share the id %s", got.ID)
	}
}

func TestPaymentTakeOver(t *testing.T) {
	after := 30 * time.Second
	pending := Payment{ID: "p1", OrderID: "o1", UserID: "buyer", Amount: 1000, Status: PaymentPending, Token: "tok_visa", AttemptAt: t0, Version: 0}
	succeeded := pending
	succeeded.Status, succeeded.StripeID, succeeded.Token, succeeded.Version = PaymentSucceeded, "ch_1", "", 1
	taken := pending
	taken.AttemptAt, taken.Version = t0.Add(after), 1
	tests := []struct {
		name    string
		p       Payment
		now     time.Time
		want    Payment
		wantErr error
	}{
		{"a succeeded payment means paid", succeeded, t0.Add(time.Hour), succeeded, ErrAlreadyPaid},
		{"a fresh pending payment is in progress", pending, t0.Add(time.Second), pending, ErrPaymentInProgress},
		{"one just under the window is still in progress", pending, t0.Add(after - time.Nanosecond), pending, ErrPaymentInProgress},
		{"one at the window is taken over, same id and token", pending, t0.Add(after), taken, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.takeOver(tt.now, after)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("takeOver = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPaymentCharge(t *testing.T) {
	p := Payment{ID: "p1", OrderID: "o1", UserID: "buyer", Amount: 2050, Status: PaymentPending, Token: "tok_visa", AttemptAt: t0}
	want := Charge{IdempotencyKey: "charge-o1-p1", Token: "tok_visa", Amount: 2050, Currency: "usd", Description: "Payment for order o1", OrderID: "o1", PaymentID: "p1"}
	if got := p.charge(); got != want {
		t.Errorf("charge() = %+v, want %+v", got, want)
	}
	taken, err := p.takeOver(t0.Add(time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := taken.charge(); got != want {
		t.Errorf("after a takeover charge() = %+v, want the same request %+v", got, want)
	}
}

func TestApplyConfirmation(t *testing.T) {
	order := Order{ID: "o1", UserID: "buyer", Price: 10, Status: events.OrderStatusCreated}
	pending := Payment{ID: "p1", OrderID: "o1", UserID: "buyer", Amount: 1000, Status: PaymentPending, Token: "tok_visa", AttemptAt: t0, Version: 1}
	succeeded := Payment{ID: "p1", OrderID: "o1", UserID: "buyer", Amount: 1000, Status: PaymentSucceeded, StripeID: "ch_1", AttemptAt: t0, Version: 2}
	now := t0.Add(time.Minute)
	tests := []struct {
		name        string
		p           Payment
		found       bool
		c           Confirmation
		want        Payment
		wantChanged bool
	}{
		{
			name: "pending becomes succeeded, token forgotten", p: pending, found: true,
			c:    Confirmation{OrderID: "o1", PaymentID: "p1", StripeID: "ch_1", Amount: 1000},
			want: succeeded, wantChanged: true,
		},
		{
			name: "succeeded stays as it is", p: succeeded, found: true,
			c:    Confirmation{OrderID: "o1", PaymentID: "p1", StripeID: "ch_other", Amount: 1000},
			want: succeeded, wantChanged: false,
		},
		{
			name: "missing is created with the charge's payment id", found: false,
			c:    Confirmation{OrderID: "o1", PaymentID: "p9", StripeID: "ch_9", Amount: 999},
			want: Payment{ID: "p9", OrderID: "o1", UserID: "buyer", Amount: 999, Status: PaymentSucceeded, StripeID: "ch_9", AttemptAt: now, Version: 0}, wantChanged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := applyConfirmation(tt.p, tt.found, tt.c, order, now)
			if got != tt.want || changed != tt.wantChanged {
				t.Errorf("applyConfirmation = %+v, %v; want %+v, %v", got, changed, tt.want, tt.wantChanged)
			}
		})
	}
	t.Run("missing without a payment id gets a new one", func(t *testing.T) {
		got, _ := applyConfirmation(Payment{}, false, Confirmation{OrderID: "o1", StripeID: "ch_9", Amount: 999}, order, now)
		if len(got.ID) != 24 {
			t.Errorf("id %q: want 24 hex characters", got.ID)
		}
	})
}

func TestPaymentCreatedEvent(t *testing.T) {
	p := Payment{ID: "p1", OrderID: "o1", Status: PaymentSucceeded, StripeID: "ch_1"}
	want := events.PaymentCreatedEvent{ID: "p1", OrderID: "o1", StripeID: "ch_1"}.Message()
	if got := p.createdEvent(); got != want {
		t.Errorf("createdEvent() = %+v, want %+v", got, want)
	}
}
