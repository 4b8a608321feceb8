package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// Check reports whether one dependency is ready.
type Check func(ctx context.Context) error

// Health registers GET /healthz (the process is alive) and GET /readyz (every
// check passes within a second). The local runner and the Kubernetes probes use
// them.
func Health(r *mux.Router, checks map[string]Check) {
	r.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}).Methods(http.MethodGet)
	r.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		failing := map[string]string{}
		for name, check := range checks {
			if err := check(ctx); err != nil {
				failing[name] = err.Error()
			}
		}
		if len(failing) > 0 {
			JSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failing": failing})
			return
		}
		JSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}).Methods(http.MethodGet)
}
