package main

import (
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// The app side of Dapr's actor protocol, over HTTP. The Go SDK's actor runtime
// gives a reminder callback no way to fail (ReminderCall returns nothing), so a
// reminder that could not be handled would be acknowledged and lost; served
// here directly, a failure is an error status and the scheduler retries.

// handleActorConfig tells the sidecar which actor types this app hosts.
func handleActorConfig() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.JSON(w, http.StatusOK, map[string]any{
			"entities":                []string{slotActor, orderActor},
			"actorIdleTimeout":        "1m",
			"drainOngoingCallTimeout": "30s",
			"drainRebalancedActors":   true,
		})
	})
}

// handleReminder runs when a slot's reminder fires (at the slot's start; it
// answers once the slot's orders are fired at their deadlines) or an order's
// own: 200 once the expirations are committed, an error status otherwise, so
// that the scheduler delivers the reminder again REMINDER_RETRY_DELAY later,
// for ever (the failure policy it was registered with, see reminderRequest).
func handleReminder(log *slog.Logger, s *scheduler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vars := mux.Vars(r)
		var err error
		switch vars["type"] {
		case slotActor:
			err = s.fireSlot(r.Context(), vars["id"])
		case orderActor:
			err = s.fire(r.Context(), vars["id"])
		default:
			err = errUnknownActorType
		}
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// handleDeactivate lets the sidecar drop an idle actor; expiration keeps no
// per-actor memory, so there is nothing to do.
func handleDeactivate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
}
