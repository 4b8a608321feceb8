package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// newServer maps every route and every subscription, with its middleware, on
// one screen.
func newServer(log *slog.Logger, cfg config, keys *auth.Keys, payments *paymentStore, charges charger, webhookSecret string) http.Handler {
	r := web.NewRouter(log)
	web.Health(r, map[string]web.Check{
		"sidecar": func(ctx context.Context) error { return sidecar.WaitOutbound(ctx, cfg.DaprHTTPAddr) },
	})

	// Stripe calls this one: no session, its signature is the authentication.
	r.Handle("/api/payments/webhook", handleStripeWebhook(log, webhookSecret, payments)).Methods(http.MethodPost)

	api := r.PathPrefix("/api/payments").Subrouter()
	api.Use(auth.CurrentUser(keys))
	api.Handle("", auth.Require(handleCreatePayment(log, cfg, payments, charges))).Methods(http.MethodPost)

	// Deliveries from the sidecar; the subscriptions themselves are declared in YAML.
	r.Handle(events.OrderCreated.Route(), delivery.Deliveries(log, handleOrderCreated(payments))).Methods(http.MethodPost)
	r.Handle(events.OrderCancelled.Route(), delivery.Deliveries(log, handleOrderCancelled(log, payments, charges))).Methods(http.MethodPost)
	return r
}
