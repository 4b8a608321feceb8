package main

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/invoke"
	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// stripeRetries is how often stripe-go retries a charge that failed on the
// network or with a 5xx, with the same idempotency key.
const stripeRetries = 2

// destinationsTTL is how long payments trusts what it read of a seller's
// payout account (see destinations).
const destinationsTTL = 5 * time.Second

// run lists what payments adds to every service's start-up (service.Run): the
// session keys it verifies, Stripe's keys, its store, Stripe, orders (which
// it asks through its sidecar), the reconciler of abandoned attempts, its
// routes.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	return service.Run(ctx, stdout, cfg.Base, func(app *service.App) (http.Handler, error) {
		keys, err := app.SessionKeys(0) // payments only verifies sessions
		if err != nil {
			return nil, err
		}
		stripeKey, err := app.Secret(cfg.StripeSecretName)
		if err != nil {
			return nil, err
		}
		webhookSecret, err := app.Secret(cfg.StripeWebhookSecretName)
		if err != nil {
			return nil, err
		}
		db, err := app.Store()
		if err != nil {
			return nil, err
		}
		payer := &payer{
			log:           app.Log,
			payments:      newPaymentStore(db),
			stripe:        newStripeProvider(app.Log, stripeKey, cfg.StripeAPIBase, cfg.PublicURL, stripeRetries),
			orders:        invoke.New(cfg.DaprHTTPAddr, cfg.CallTimeout),
			takeoverAfter: cfg.TakeoverAfter,
			actionWindow:  cfg.ActionWindow,
			feeBP:         cfg.feeBasisPoints(),
			destinations:  newDestinations(destinationsTTL),
		}
		app.Go(func(ctx context.Context) { payer.reconcileEvery(ctx, cfg.ReconcileInterval) })
		return newServer(app.Log, cfg, keys, payer, webhookSecret), nil
	})
}
