package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/invoke"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// newServer maps every route and every subscription, with its middleware, on
// one screen.
func newServer(log *slog.Logger, cfg config, keys *auth.Keys, orders *orderStore) http.Handler {
	r := web.NewRouter(log)
	web.Health(r, map[string]web.Check{
		"sidecar": func(ctx context.Context) error { return sidecar.WaitOutbound(ctx, cfg.DaprHTTPAddr) },
	})

	api := r.PathPrefix("/api/orders").Subrouter()
	api.Use(auth.CurrentUser(keys), auth.Require)
	api.Handle("", handleCreateOrder(log, orders, cfg.ExpirationWindow)).Methods(http.MethodPost)
	api.Handle("", handleListOrders(log, orders)).Methods(http.MethodGet)
	api.Handle("/{id}", handleShowOrder(log, orders)).Methods(http.MethodGet)
	api.Handle("/{id}", handleCancelOrder(log, orders)).Methods(http.MethodDelete)

	// Payments and tickets ask and tell orders here, through their sidecars
	// (package invoke).
	internal := r.PathPrefix("/internal/orders/{id}").Subrouter()
	internal.Handle("/pay", invoke.OnlyFrom(invoke.PaymentsApp)(handlePay(log, orders))).Methods(http.MethodPost)
	internal.Handle("/paid", invoke.OnlyFrom(invoke.PaymentsApp)(handlePaid(log, orders))).Methods(http.MethodPost)
	internal.Handle("/unpaid", invoke.OnlyFrom(invoke.PaymentsApp)(handleUnpaid(log, orders))).Methods(http.MethodPost)
	internal.Handle("/abandon", invoke.OnlyFrom(invoke.TicketsApp)(handleAbandon(log, orders))).Methods(http.MethodPost)

	// Deliveries from the sidecar; the subscriptions themselves are declared in YAML.
	r.Handle(events.TicketCreated.Route(), delivery.Deliveries(log, handleTicketCreated(orders))).Methods(http.MethodPost)
	r.Handle(events.TicketUpdated.Route(), delivery.Deliveries(log, handleTicketUpdated(orders))).Methods(http.MethodPost)
	r.Handle(events.ExpirationComplete.Route(), delivery.Deliveries(log, handleExpirationComplete(orders))).Methods(http.MethodPost)
	r.Handle(events.PaymentCreated.Route(), delivery.Deliveries(log, handlePaymentCreated(log, orders))).Methods(http.MethodPost)
	return r
}
