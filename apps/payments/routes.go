package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/invoke"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// newServer maps every route, with its middleware, on one screen. payments
// subscribes to no event: what it needs of an order it asks orders for.
func newServer(log *slog.Logger, cfg config, keys *auth.Keys, payer *payer, webhookSecret string) http.Handler {
	r := web.NewRouter(log)
	web.Health(r, map[string]web.Check{
		"sidecar": func(ctx context.Context) error { return sidecar.WaitOutbound(ctx, cfg.DaprHTTPAddr) },
	})

	// Stripe calls this one: no session, its signature is the authentication.
	r.Handle("/api/payments/webhook", handleStripeWebhook(log, webhookSecret, payer)).Methods(http.MethodPost)

	api := r.PathPrefix("/api/payments").Subrouter()
	api.Use(auth.CurrentUser(keys))
	api.Handle("", auth.Require(handleCreatePayment(log, payer))).Methods(http.MethodPost)
	// Sellers get paid: their connected payout account, and their sales.
	api.Handle("/sellers", auth.Require(handleConnect(log, payer, cfg.PublicURL))).Methods(http.MethodPost)
	api.Handle("/sellers/me", auth.Require(handleSeller(log, payer))).Methods(http.MethodGet)
	api.Handle("/sales", auth.Require(handleSales(log, payer))).Methods(http.MethodGet)

	// Orders asks here, through its sidecar (package invoke).
	internal := r.PathPrefix("/internal/payments").Subrouter()
	internal.Use(invoke.OnlyFrom(invoke.OrdersApp))
	internal.Handle("/{id}/settle", handleSettle(log, payer)).Methods(http.MethodPost)
	return r
}
