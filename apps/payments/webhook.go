package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// maxWebhookBytes bounds a webhook body; Stripe's events are far smaller.
const maxWebhookBytes = 64 << 10

var (
	errWebhookSignature = apperr.New(apperr.Invalid, "Invalid Stripe signature")
	errWebhookPayload   = apperr.New(apperr.Invalid, "Invalid webhook payload")
	errWebhookTooLarge  = apperr.New(apperr.Invalid, "Request body is too large")
)

// webhookResponse is what Stripe gets for every event it need not resend.
type webhookResponse struct {
	Received bool `json:"received"`
}

// handleStripeWebhook takes Stripe's word that a charge succeeded, as a second
// path to the same record as the API's: it confirms the order's payment
// (pending or missing becomes succeeded, with payment:created), once. Only a
// correctly signed, fresh payload has any effect; anything else is a 400.
//
// It answers 200 for everything it will never act on, because Stripe resends
// any other answer for days: unknown event types, events without an orderId
// in their metadata, and orders payments does not know (a charge made outside
// this marketplace, or in another environment sharing the Stripe account),
// which are logged for a person to look at. It answers 503 only when the
// store is unavailable, so Stripe tries again later.
func handleStripeWebhook(log *slog.Logger, secret string, payments *paymentStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
		if err != nil {
			web.Error(w, r, log, errWebhookTooLarge)
			return
		}
		ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), secret,
			webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
		if err != nil {
			log.WarnContext(r.Context(), "webhook rejected", "err", err)
			web.Error(w, r, log, webhookError(err))
			return
		}
		c, ok, err := confirmationOf(ev)
		if err != nil {
			web.Error(w, r, log, fmt.Errorf("%w: %v", errWebhookPayload, err))
			return
		}
		if !ok {
			web.JSON(w, http.StatusOK, webhookResponse{Received: true})
			return
		}
		ctx := r.Context()
		order, err := payments.order(ctx, c.OrderID)
		if errors.Is(err, ErrOrderNotFound) {
			log.WarnContext(ctx, "webhook for an order payments does not know; ignored",
				"event", ev.ID, "type", ev.Type, "order", c.OrderID, "charge", c.StripeID)
			web.JSON(w, http.StatusOK, webhookResponse{Received: true})
			return
		}
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		p, err := payments.confirm(ctx, c, order, time.Now())
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		if p.StripeID != c.StripeID {
			// Paid by another charge already: a second charge for one order.
			log.ErrorContext(ctx, "order paid twice; refund the second charge",
				"order", c.OrderID, "recorded", p.StripeID, "extra", c.StripeID)
		}
		web.JSON(w, http.StatusOK, webhookResponse{Received: true})
	})
}

func webhookError(err error) error {
	switch {
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader),
		errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrTooOld):
		return errWebhookSignature
	default: // signed, but not a Stripe event
		return errWebhookPayload
	}
}

// confirmationOf reads a succeeded charge out of an event: ok is false for
// other event types and for objects that carry no orderId.
func confirmationOf(ev stripe.Event) (c Confirmation, ok bool, err error) {
	if ev.Data == nil {
		return c, false, nil
	}
	switch ev.Type {
	case stripe.EventTypeChargeSucceeded:
		var ch stripe.Charge
		if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
			return c, false, fmt.Errorf("%s %s: %w", ev.Type, ev.ID, err)
		}
		c = Confirmation{OrderID: ch.Metadata["orderId"], PaymentID: ch.Metadata["paymentId"], StripeID: ch.ID, Amount: ch.Amount}
	case stripe.EventTypePaymentIntentSucceeded:
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
			return c, false, fmt.Errorf("%s %s: %w", ev.Type, ev.ID, err)
		}
		// The charge's id when there is one, so that this event and the
		// charge.succeeded of the same payment record the same stripeId.
		id := pi.ID
		if pi.LatestCharge != nil && pi.LatestCharge.ID != "" {
			id = pi.LatestCharge.ID
		}
		amount := pi.AmountReceived
		if amount == 0 {
			amount = pi.Amount
		}
		c = Confirmation{OrderID: pi.Metadata["orderId"], PaymentID: pi.Metadata["paymentId"], StripeID: id, Amount: amount}
	default:
		return c, false, nil
	}
	return c, c.OrderID != "" && c.StripeID != "", nil
}
