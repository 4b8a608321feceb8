package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
)

// stripeTimeout bounds one HTTP request to Stripe (stripe-go's own default is
// 80 s, longer than any buyer waits). A request that timed out may have been
// done: the attempt is kept, and settled later (see settle.go).
const stripeTimeout = 20 * time.Second

// Intent is a PaymentIntent as payments needs it.
type Intent struct {
	ID           string
	Status       stripe.PaymentIntentStatus
	ClientSecret string
	// NextActionURL is where the buyer authenticates (3-D Secure) without
	// Stripe.js: the intent was confirmed with a return URL, so Stripe
	// offers a page that sends them back to it.
	NextActionURL string
	Amount        int64
	ChargeID      string // the charge of an intent that succeeded
}

// provider is Stripe, as payments uses it: one PaymentIntent per attempt,
// created unconfirmed, then confirmed, so that an intent can be found again
// (under the same idempotency key) and cancelled without ever taking money
// for an attempt nobody is paying any more.
type provider interface {
	// pay creates the attempt's intent and confirms it with the attempt's
	// token or payment method. Its errors are ErrNotCharged (no money moved:
	// declined, refused) or anything else (it may have).
	pay(ctx context.Context, a Payment) (Intent, error)
	// find returns the attempt's intent as Stripe has it now, creating it
	// (unconfirmed, so taking nothing) if the attempt never got that far.
	find(ctx context.Context, a Payment) (Intent, error)
	// cancel cancels an intent that has not succeeded; one that has is
	// answered as it is.
	cancel(ctx context.Context, intentID string) (Intent, error)
	refund(ctx context.Context, r Refund) error

	// Connect: a seller's Express account and its onboarding link; a
	// transfer of a payment's seller share, sent after the charge; its
	// reversal.
	createAccount(ctx context.Context, sellerID string) (string, error)
	accountLink(ctx context.Context, accountID, refreshURL, returnURL string) (string, error)
	transfer(ctx context.Context, p Payment, accountID string) (string, error)
	reverse(ctx context.Context, transferID string, amount int64, key string) error
}

// stripeProvider pays with Stripe's PaymentIntents API through stripe-go.
type stripeProvider struct {
	api *client.API
	// returnBase is the public origin the buyer comes back to after
	// authenticating on their bank's page: the order's page there.
	returnBase string
}

// newStripeProvider returns a provider using the secret key; apiBase, when
// not empty, points it at another server speaking Stripe's API (stripe-mock
// locally). retries is how often stripe-go itself retries a request that
// failed on the network or with a 5xx; it sends the same idempotency key each
// time.
func newStripeProvider(log *slog.Logger, key, apiBase, publicURL string, retries int64) *stripeProvider {
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
	return &stripeProvider{api: api, returnBase: strings.TrimSuffix(publicURL, "/")}
}

func (s *stripeProvider) pay(ctx context.Context, a Payment) (Intent, error) {
	in, err := s.find(ctx, a)
	if err != nil {
		return Intent{}, err
	}
	if in.Status != stripe.PaymentIntentStatusRequiresConfirmation && in.Status != stripe.PaymentIntentStatusRequiresPaymentMethod {
		return in, nil // confirmed by an earlier try of this attempt
	}
	params := &stripe.PaymentIntentConfirmParams{}
	if s.returnBase != "" {
		params.ReturnURL = stripe.String(s.returnBase + "/orders/" + url.PathEscape(a.OrderID))
	}
	params.Context = ctx
	params.SetIdempotencyKey(a.key("confirm"))
	pi, err := s.api.PaymentIntents.Confirm(in.ID, params)
	if err != nil {
		return Intent{}, classifyStripeError(err)
	}
	return intentOf(pi), nil
}

func (s *stripeProvider) find(ctx context.Context, a Payment) (Intent, error) {
	if a.IntentID != "" {
		params := &stripe.PaymentIntentParams{}
		params.Context = ctx
		pi, err := s.api.PaymentIntents.Get(a.IntentID, params)
		if err != nil {
			return Intent{}, classifyStripeError(err)
		}
		return intentOf(pi), nil
	}
	method, err := s.paymentMethod(ctx, a)
	if err != nil {
		return Intent{}, err
	}
	params := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(a.Amount),
		Currency:           stripe.String(string(stripe.CurrencyUSD)),
		PaymentMethod:      stripe.String(method),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Description:        stripe.String("Payment for order " + a.OrderID),
	}
	params.Context = ctx
	params.SetIdempotencyKey(a.key("intent"))
	params.AddMetadata("orderId", a.OrderID)
	params.AddMetadata("paymentId", a.ID)
	params.AddMetadata("sellerId", a.SellerID)
	params.TransferGroup = stripe.String("order-" + a.OrderID)
	if a.Destination != "" {
		// A destination charge: the seller's share goes with it, the
		// platform keeps its fee.
		params.TransferData = &stripe.PaymentIntentTransferDataParams{Destination: stripe.String(a.Destination)}
		params.ApplicationFeeAmount = stripe.Int64(a.Fee)
	}
	pi, err := s.api.PaymentIntents.New(params)
	if err != nil {
		return Intent{}, classifyStripeError(err)
	}
	return intentOf(pi), nil
}

// paymentMethod is what the intent is confirmed with: a payment method as
// given, or one made from a legacy token (Stripe does not take a token as an
// intent's payment method; a payment method made from it, it does).
func (s *stripeProvider) paymentMethod(ctx context.Context, a Payment) (string, error) {
	if !strings.HasPrefix(a.Method, "tok_") {
		return a.Method, nil
	}
	params := &stripe.PaymentMethodParams{
		Type: stripe.String(string(stripe.PaymentMethodTypeCard)),
		Card: &stripe.PaymentMethodCardParams{Token: stripe.String(a.Method)},
	}
	params.Context = ctx
	params.SetIdempotencyKey(a.key("method"))
	pm, err := s.api.PaymentMethods.New(params)
	if err != nil {
		return "", classifyStripeError(err)
	}
	return pm.ID, nil
}

func (s *stripeProvider) cancel(ctx context.Context, intentID string) (Intent, error) {
	params := &stripe.PaymentIntentCancelParams{}
	params.Context = ctx
	pi, err := s.api.PaymentIntents.Cancel(intentID, params)
	if err == nil {
		return intentOf(pi), nil
	}
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodePaymentIntentUnexpectedState {
		// Succeeded (or cancelled) already: say which.
		get := &stripe.PaymentIntentParams{}
		get.Context = ctx
		if pi, gerr := s.api.PaymentIntents.Get(intentID, get); gerr == nil {
			return intentOf(pi), nil
		}
	}
	return Intent{}, classifyStripeError(err)
}

// refund gives an intent's money back (once per idempotency key).
func (s *stripeProvider) refund(ctx context.Context, r Refund) error {
	params := &stripe.RefundParams{PaymentIntent: stripe.String(r.IntentID)}
	if r.ReverseTransfer {
		params.ReverseTransfer, params.RefundApplicationFee = stripe.Bool(true), stripe.Bool(true)
	}
	params.Context = ctx
	params.SetIdempotencyKey(r.IdempotencyKey)
	params.AddMetadata("orderId", r.OrderID)
	if _, err := s.api.Refunds.New(params); err != nil {
		return fmt.Errorf("%w: refund %s: %v", ErrProviderUnavailable, r.IntentID, err)
	}
	return nil
}

func (s *stripeProvider) createAccount(ctx context.Context, sellerID string) (string, error) {
	params := &stripe.AccountParams{
		Type: stripe.String(string(stripe.AccountTypeExpress)),
		Capabilities: &stripe.AccountCapabilitiesParams{
			CardPayments: &stripe.AccountCapabilitiesCardPaymentsParams{Requested: stripe.Bool(true)},
			Transfers:    &stripe.AccountCapabilitiesTransfersParams{Requested: stripe.Bool(true)},
		},
	}
	params.Context = ctx
	params.SetIdempotencyKey("account-" + sellerID)
	params.AddMetadata("sellerId", sellerID)
	acct, err := s.api.Accounts.New(params)
	if err != nil {
		return "", classifyStripeError(err)
	}
	return acct.ID, nil
}

func (s *stripeProvider) accountLink(ctx context.Context, accountID, refreshURL, returnURL string) (string, error) {
	params := &stripe.AccountLinkParams{
		Account:    stripe.String(accountID),
		RefreshURL: stripe.String(refreshURL),
		ReturnURL:  stripe.String(returnURL),
		Type:       stripe.String("account_onboarding"),
	}
	params.Context = ctx
	link, err := s.api.AccountLinks.New(params)
	if err != nil {
		return "", classifyStripeError(err)
	}
	return link.URL, nil
}

// transfer sends a payment's seller share, from its charge, once per order.
func (s *stripeProvider) transfer(ctx context.Context, p Payment, accountID string) (string, error) {
	params := &stripe.TransferParams{
		Amount:        stripe.Int64(p.Share()),
		Currency:      stripe.String(string(stripe.CurrencyUSD)),
		Destination:   stripe.String(accountID),
		TransferGroup: stripe.String("order-" + p.OrderID),
	}
	if p.ChargeID != "" {
		params.SourceTransaction = stripe.String(p.ChargeID)
	}
	params.Context = ctx
	params.SetIdempotencyKey("transfer-" + p.OrderID)
	params.AddMetadata("orderId", p.OrderID)
	params.AddMetadata("sellerId", p.SellerID)
	tr, err := s.api.Transfers.New(params)
	if err != nil {
		return "", classifyStripeError(err)
	}
	return tr.ID, nil
}

func (s *stripeProvider) reverse(ctx context.Context, transferID string, amount int64, key string) error {
	params := &stripe.TransferReversalParams{ID: stripe.String(transferID), Amount: stripe.Int64(amount)}
	params.Context = ctx
	params.SetIdempotencyKey(key)
	if _, err := s.api.TransferReversals.New(params); err != nil {
		return fmt.Errorf("%w: reverse %s: %v", ErrProviderUnavailable, transferID, err)
	}
	return nil
}

func intentOf(pi *stripe.PaymentIntent) Intent {
	in := Intent{ID: pi.ID, Status: pi.Status, ClientSecret: pi.ClientSecret, Amount: pi.Amount}
	if pi.LatestCharge != nil {
		in.ChargeID = pi.LatestCharge.ID
	}
	if na := pi.NextAction; na != nil && na.RedirectToURL != nil {
		in.NextActionURL = na.RedirectToURL.URL
	}
	return in
}

// classifyStripeError sorts a failed request by what it means for the money:
//   - a card error (402): declined, nothing charged; Stripe's message is
//     written for the buyer;
//   - an invalid request (400, 404: a bad or used token, an amount under the
//     minimum): nothing charged; Stripe's message is shown too;
//   - refused credentials (401, 403): nothing charged, and our own
//     misconfiguration, so the buyer sees only "Something went wrong";
//   - rate limited (429): not executed;
//   - anything else (5xx, a timeout, a network error, an idempotency error):
//     the request may have been done, so the attempt must be kept.
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
