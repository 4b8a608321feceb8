package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode"

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

// handleStripeWebhook takes Stripe's word on a payment, as Stripe advises a
// marketplace to fulfil orders: payment_intent.succeeded ends the attempt as
// paid, payment_intent.payment_failed as taking no money, through the same
// path as the request's own answer (payer.succeeded, payer.failed), so
// whichever comes first completes the order once. charge.refunded records a
// refund made at Stripe; account.updated what a seller's connected account
// can do (and sends the shares waiting for it). Only a correctly signed, fresh payload has any
// effect; anything else is a 400.
//
// It answers 200 for everything it will never act on, because Stripe resends
// any other answer for days: other event types, intents without our metadata,
// and attempts payments does not hold (made outside this marketplace, or in
// another environment sharing the Stripe account), which are logged for a
// person to look at. It answers 503 only when the store is unavailable, so
// Stripe tries again later.
func handleStripeWebhook(log *slog.Logger, secret string, payer *payer) http.Handler {
	secrets := webhookSecrets(secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
		if err != nil {
			web.Error(w, r, log, errWebhookTooLarge)
			return
		}
		ev, err := verifiedEvent(body, r.Header.Get("Stripe-Signature"), secrets)
		if err != nil {
			log.WarnContext(r.Context(), "webhook rejected", "err", err)
			web.Error(w, r, log, webhookError(err))
			return
		}
		n, ok, err := noticeOf(ev)
		if err != nil {
			web.Error(w, r, log, fmt.Errorf("%w: %v", errWebhookPayload, err))
			return
		}
		if ok {
			if err := payer.notice(r.Context(), n); err != nil {
				web.Error(w, r, log, err)
				return
			}
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

// notice is what a Stripe event tells payments.
type notice struct {
	Event     stripe.EventType
	EventID   string
	OrderID   string
	PaymentID string
	IntentID  string
	ChargeID  string
	// account.updated: the seller, their account, and what it can do.
	SellerID, AccountID       string
	Ready, Payouts, Submitted bool
}

// noticeOf reads an event: ok is false for events payments does not act on
// and for objects without the order's metadata.
func noticeOf(ev stripe.Event) (n notice, ok bool, err error) {
	if ev.Data == nil {
		return n, false, nil
	}
	n = notice{Event: ev.Type, EventID: ev.ID}
	switch ev.Type {
	case stripe.EventTypePaymentIntentSucceeded, stripe.EventTypePaymentIntentPaymentFailed:
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
			return n, false, fmt.Errorf("%s %s: %w", ev.Type, ev.ID, err)
		}
		n.OrderID, n.PaymentID, n.IntentID = pi.Metadata["orderId"], pi.Metadata["paymentId"], pi.ID
		if pi.LatestCharge != nil {
			n.ChargeID = pi.LatestCharge.ID
		}
	case stripe.EventTypeAccountUpdated:
		var a stripe.Account
		if err := json.Unmarshal(ev.Data.Raw, &a); err != nil {
			return n, false, fmt.Errorf("%s %s: %w", ev.Type, ev.ID, err)
		}
		n.SellerID, n.AccountID = a.Metadata["sellerId"], a.ID
		n.Ready = a.Capabilities != nil && a.Capabilities.Transfers == stripe.AccountCapabilityStatusActive
		n.Payouts, n.Submitted = a.PayoutsEnabled, a.DetailsSubmitted
		return n, n.SellerID != "" && n.AccountID != "", nil
	case stripe.EventTypeChargeRefunded:
		var ch stripe.Charge
		if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
			return n, false, fmt.Errorf("%s %s: %w", ev.Type, ev.ID, err)
		}
		n.OrderID, n.PaymentID = ch.Metadata["orderId"], ch.Metadata["paymentId"]
		if ch.PaymentIntent != nil {
			n.IntentID = ch.PaymentIntent.ID
		}
	default:
		return n, false, nil
	}
	return n, n.OrderID != "" && n.IntentID != "", nil
}

// notice acts on what Stripe said of an attempt, or of a seller's account.
func (p *payer) notice(ctx context.Context, n notice) error {
	if n.Event == stripe.EventTypeAccountUpdated {
		return p.accountUpdated(ctx, n.SellerID, n.AccountID, n.Ready, n.Payouts, n.Submitted)
	}
	cur, found, err := p.payments.payment(ctx, n.OrderID)
	if err != nil {
		return err
	}
	ours := found && (cur.ID == n.PaymentID || cur.IntentID == n.IntentID || cur.StripeID == n.IntentID)
	switch {
	case !ours:
		p.log.WarnContext(ctx, "webhook for a payment payments does not hold; ignored",
			"event", n.EventID, "type", n.Event, "order", n.OrderID, "intent", n.IntentID)
		return nil
	case n.Event == stripe.EventTypePaymentIntentSucceeded && cur.Status.open():
		_, err := p.succeeded(ctx, cur, Intent{ID: n.IntentID, ChargeID: n.ChargeID, Status: stripe.PaymentIntentStatusSucceeded})
		if errors.Is(err, ErrNotPayable) {
			return nil // refunded: the order had ended
		}
		return err
	case n.Event == stripe.EventTypePaymentIntentSucceeded && cur.Status == PaymentAbandoned:
		// Money taken for an attempt payments gave up (and told orders so).
		p.log.WarnContext(ctx, "money taken for an abandoned payment; refunding", "order", n.OrderID, "intent", n.IntentID)
		return p.stripe.refund(ctx, Refund{IntentID: n.IntentID, OrderID: n.OrderID, IdempotencyKey: "refund-" + n.OrderID + "-" + cur.ID,
			ReverseTransfer: cur.Destination != ""})
	case n.Event == stripe.EventTypePaymentIntentPaymentFailed && cur.Status.open():
		p.failed(ctx, cur)
	case n.Event == stripe.EventTypeChargeRefunded:
		if cur.Status == PaymentSucceeded && cur.Transfer == TransferSent {
			// Refunded at Stripe (from the Dashboard): the share sent to the
			// seller after the charge comes back, under the same key as a
			// refund of ours, so once. A destination charge's transfer is
			// reversed by the refund itself when made with reverse_transfer
			// (the Dashboard's "reverse the transfer"; see the README).
			if err := p.stripe.reverse(ctx, cur.TransferID, cur.Share(), "reversal-"+n.OrderID); err != nil {
				return err
			}
		}
		_, err := p.payments.markRefunded(ctx, n.OrderID)
		return err
	}
	return nil // a repeat, or news of an attempt already ended
}

// webhookSecrets splits the webhook secret on commas and spaces: an account
// has one signing secret per endpoint (the platform's events, and the
// Connect endpoint's events of connected accounts: account.updated), and two
// while Stripe rolls a secret.
func webhookSecrets(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// verifiedEvent is the event of a payload signed with any of the secrets.
func verifiedEvent(body []byte, signature string, secrets []string) (stripe.Event, error) {
	err := webhook.ErrNoValidSignature
	for _, secret := range secrets {
		var ev stripe.Event
		ev, err = webhook.ConstructEventWithOptions(body, signature, secret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
		if !errors.Is(err, webhook.ErrNoValidSignature) {
			return ev, err
		}
	}
	return stripe.Event{}, err
}
