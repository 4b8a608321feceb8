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
func newServer(log *slog.Logger, cfg config, keys *auth.Keys, tickets *ticketStore) http.Handler {
	r := web.NewRouter(log)
	web.Health(r, map[string]web.Check{
		"sidecar": func(ctx context.Context) error { return sidecar.WaitOutbound(ctx, cfg.DaprHTTPAddr) },
	})

	api := r.PathPrefix("/api/tickets").Subrouter()
	api.Use(auth.CurrentUser(keys))
	api.Handle("", auth.Require(handleCreateTicket(log, tickets))).Methods(http.MethodPost)
	api.Handle("", handleListTickets(log, tickets)).Methods(http.MethodGet)
	api.Handle("/{id}", handleShowTicket(log, tickets)).Methods(http.MethodGet)
	api.Handle("/{id}", auth.Require(handleUpdateTicket(log, tickets))).Methods(http.MethodPut)

	// Orders asks for reservations here, through its sidecar (package invoke).
	internal := r.PathPrefix("/internal/tickets").Subrouter()
	internal.Use(invoke.OnlyFrom(invoke.OrdersApp))
	internal.Handle("/{id}/reserve", handleReserve(log, tickets)).Methods(http.MethodPost)
	internal.Handle("/{id}/release", handleRelease(log, tickets)).Methods(http.MethodPost)

	// Deliveries from the sidecar; the subscriptions themselves are declared in YAML.
	r.Handle(events.OrderCreated.Route(), delivery.Deliveries(log, handleOrderCreated(tickets))).Methods(http.MethodPost)
	r.Handle(events.OrderCancelled.Route(), delivery.Deliveries(log, handleOrderCancelled(tickets))).Methods(http.MethodPost)
	return r
}
