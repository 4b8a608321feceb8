package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/tixmesh/ticketing/apps/pkg/invoke"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// handleSettle answers orders, about to end an order it held for a payment
// whose lease is over (see payer.settle): 200 {outcome}.
func handleSettle(log *slog.Logger, payer *payer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outcome, err := payer.settle(r.Context(), mux.Vars(r)["id"], time.Now())
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusOK, invoke.Settlement{Outcome: outcome})
	})
}
