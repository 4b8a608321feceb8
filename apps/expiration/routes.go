package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

var errUnknownActorType = apperr.New(apperr.NotFound, "Not Found")

// newServer maps every route on one screen. Expiration has no public API: its
// callers are its sidecar (events, actor reminders) and the probes.
func newServer(log *slog.Logger, cfg config, s *scheduler) http.Handler {
	r := web.NewRouter(log)
	web.Health(r, map[string]web.Check{
		"sidecar": func(ctx context.Context) error { return sidecar.WaitOutbound(ctx, cfg.DaprHTTPAddr) },
	})

	// Subscriptions (declared in components/subscriptions).
	r.Handle(events.OrderCreated.Route(), delivery.Deliveries(log, s.onOrdersCreated)).Methods(http.MethodPost)
	r.Handle(events.OrderCancelled.Route(), delivery.Deliveries(log, s.onOrdersCancelled)).Methods(http.MethodPost)

	// The actor protocol: an ExpirationSlot actor per second of deadlines,
	// and an OrderExpiration actor for an order that needs its own reminder.
	r.Handle("/dapr/config", handleActorConfig()).Methods(http.MethodGet)
	r.Handle("/actors/{type}/{id}/method/remind/{name}", handleReminder(log, s)).Methods(http.MethodPut)
	r.Handle("/actors/{type}/{id}", handleDeactivate()).Methods(http.MethodDelete)

	r.Handle("/debug/lateness", handleLateness(s.lateness)).Methods(http.MethodGet)
	return r
}
