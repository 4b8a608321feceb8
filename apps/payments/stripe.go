package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
)

// stripeTimeout bounds one HTTP request to Stripe (stripe-go's own default is
// 80 s, longer than any buyer waits). A timed-out charge is treated as one
// that may exist: the claim is kept and resumed under the same idempotency key.
const stripeTimeout = 20 * time.Second

// stripeCharger charges cards with Stripe's Charges API, as the original did.
type stripeCharger struct {
	api *client.API
}

// newStripeCharger returns a charger using the secret key; apiBase, when not
// empty, points it at another server speaking Stripe's API (stripe-mock
// locally). retries is how often stripe-go itself retries a request that
// failed on the network or with a 5xx; it sends the same idempotency key each
// time.
func newStripeCharger(log *slog.Logger, key, apiBase string, retries int64) *stripeCharger {
	cfg := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: stripeTimeout},
		LeveledLogger:     stripeLogger{log.With("component", "stripe")},
		MaxNetworkRetries: stripe.Int64(retries),
	}
	if apiBase != "" {
		cfg.URL = stripe.String(apiBase)
	}
	api := &client.API{}
	api.Init(key, &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackend(stripe.ConnectBackend),
		Uploads: stripe.GetBackend(stripe.UploadsBackend),
	})
	return &stripeCharger{api: api}
}

// charge creates the charge and returns its id. Its errors say what the
// caller may do next: ErrNotCharged (with a message for the buyer, or an
// internal error) when Stripe certainly made no charge; ErrProviderUnavailable
// when the charge may or may not exist.
func (s *stripeCharger) charge(ctx context.Context, c Charge) (string, error) {
	params := &stripe.ChargeParams{
		Amount:      stripe.Int64(c.Amount),
		Currency:    stripe.String(c.Currency),
		Description: stripe.String(c.Description),
	}
	params.Context = ctx
	params.IdempotencyKey = stripe.String(c.IdempotencyKey)
	params.Source = &stripe.PaymentSourceSourceParams{Token: stripe.String(c.Token)}
	params.AddMetadata("orderId", c.OrderID)
	params.AddMetadata("paymentId", c.PaymentID)
	ch, err := s.api.Charges.New(params)
	if err != nil {
		return "", classifyStripeError(err)
	}
	return ch.ID, nil
}

// refund gives a charge's money back (once per idempotency key).
func (s *stripeCharger) refund(ctx context.Context, r Refund) error {
	params := &stripe.RefundParams{Charge: stripe.String(r.ChargeID)}
	params.Context = ctx
	params.IdempotencyKey = stripe.String(r.IdempotencyKey)
	params.AddMetadata("orderId", r.OrderID)
	if _, err := s.api.Refunds.New(params); err != nil {
		return fmt.Errorf("%w: refund %s: %v", ErrProviderUnavailable, r.ChargeID, err)
	}
	return nil
}

// classifyStripeError sorts a failed charge by what it means for the money:
//   - a card error (402): declined, nothing charged; Stripe's message is
//     written for the buyer;
//   - an invalid request (400, 404: a bad or used token, an amount under the
//     minimum): nothing charged; Stripe's message is shown too;
//   - refused credentials (401, 403): nothing charged, and our own
//     misconfiguration, so the buyer sees only "Something went wrong";
//   - rate limited (429): not executed;
//   - anything else (5xx, a timeout, a network error, an idempotency error):
//     the charge may exist, so the claim must be kept.
func classifyStripeError(err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("%w: stripe: %v", ErrProviderUnavailable, err)
	}
	switch {
	case se.Type == stripe.ErrorTypeCard || se.HTTPStatusCode == http.StatusPaymentRequired:
		if se.Msg == "" {
			return notCharged(ErrCardDeclined)
		}
		return notCharged(apperr.New(apperr.Rule, se.Msg))
	case se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden:
		return notCharged(fmt.Errorf("stripe refused our credentials (%d): %s", se.HTTPStatusCode, se.Msg))
	case se.HTTPStatusCode == http.StatusTooManyRequests:
		return notCharged(fmt.Errorf("%w: stripe rate limit: %s", ErrProviderUnavailable, se.Msg))
	case se.Type == stripe.ErrorTypeInvalidRequest && (se.HTTPStatusCode == http.StatusBadRequest || se.HTTPStatusCode == http.StatusNotFound):
		return notCharged(apperr.New(apperr.Rule, se.Msg))
	default:
		return fmt.Errorf("%w: stripe %d %s: %s", ErrProviderUnavailable, se.HTTPStatusCode, se.Type, se.Msg)
	}
}

// stripeLogger sends stripe-go's own log lines to the service's logger.
type stripeLogger struct{ log *slog.Logger }

func (l stripeLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l stripeLogger) Infof(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l stripeLogger) Warnf(format string, v ...any)  { l.log.Warn(fmt.Sprintf(format, v...)) }

// Errorf is a warning here: stripe-go reports every declined card as an
// error, and failures that matter are logged by the handler.
func (l stripeLogger) Errorf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }
