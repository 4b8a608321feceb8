package main

import (
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

var errUnavailableForTest = fmt.Errorf("transaction: %w", sidecar.ErrUnavailable)

func TestPaymentRequestValidate(t *testing.T) {
	tests := []struct {
		name string
		req  paymentRequest
		want map[string]string
	}{
		{"both given", paymentRequest{Token: web.NewText("tok_visa"), OrderID: web.NewText("o1")}, map[string]string{}},
		{"token missing", paymentRequest{OrderID: web.NewText("o1")}, map[string]string{"token": "Token must be provided"}},
		{"order id blank", paymentRequest{Token: web.NewText("tok_visa"), OrderID: web.NewText("  ")}, map[string]string{"orderId": "OrderId must be provided"}},
		{"both missing", paymentRequest{}, map[string]string{"token": "Token must be provided", "orderId": "OrderId must be provided"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.Validate(); !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWhatAClaimFinds(t *testing.T) {
	for status, want := range map[PaymentStatus]error{
		PaymentSucceeded:      ErrAlreadyPaid,
		PaymentAbandoned:      ErrNotPayable,
		PaymentRequiresAction: errActionRequired,
		PaymentPending:        ErrPaymentInProgress,
		PaymentProcessing:     ErrPaymentInProgress,
		PaymentRefunded:       nil,
	} {
		if got := (Payment{Status: status}).claimed(); !errors.Is(got, want) {
			t.Errorf("%s: %v, want %v", status, got, want)
		}
	}
}

func TestCents(t *testing.T) {
	for price, want := range map[float64]int64{20.5: 2050, 19.99: 1999, 0.01: 1, 1_000_000: 100_000_000} {
		if got := cents(price); got != want {
			t.Errorf("cents(%v) = %d, want %d", price, got, want)
		}
	}
}
