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
			"entities":                []string{actorType},
			"actorIdleTimeout":        "1m",
			"drainOngoingCallTimeout": "30s",
			"drainRebalancedActors":   true,
		})
	})
}

// handleReminder runs when an order's reminder fires: 200 once the expiration
// is committed (or safely re-scheduled), 500 otherwise so that it is retried.
func handleReminder(log *slog.Logger, s *scheduler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vars := mux.Vars(r)
		if vars["type"] != actorType {
			web.Error(w, r, log, errUnknownActorType)
			return
		}
		if err := s.fire(r.Context(), vars["id"]); err != nil {
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
