package main

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/invoke"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// Tickets' internal API (package invoke has its contract): orders asks
// tickets, the owner of every ticket, to reserve one for an order it is
// about to make, and to release one for an order it could not make.

type reserveBody struct {
	OrderID web.Text `json:"orderId"`
}

func (b reserveBody) Validate() map[string]string {
	if b.OrderID.Trimmed() == "" {
		return map[string]string{"orderId": "OrderId must be provided"}
	}
	return nil
}

var errAlreadyReserved = apperr.New(apperr.Conflict, "Ticket is already reserved")

// handleReserve holds the ticket for the order: 200 with the ticket as
// reserved; 404 no such ticket; 409 another order holds it (heldBy names
// it) or the order was cancelled.
func handleReserve(log *slog.Logger, tickets *ticketStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.DecodeValid[reserveBody](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		t, err := store.Apply(r.Context(), tickets.db, reserveFor(mux.Vars(r)["id"], in.OrderID.Trimmed(), time.Now()))
		if errors.Is(err, ErrHeldByAnotherOrder) {
			held := invoke.Held{HeldBy: t.OrderID}
			held.Errors = append(held.Errors, struct {
				Message string `json:"message"`
			}{errAlreadyReserved.Message})
			web.JSON(w, http.StatusConflict, held)
			return
		}
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusOK, invoke.Ticket{ID: t.ID, Title: t.Title, Price: t.Price, Version: t.Version, UserID: t.UserID, OrderID: t.OrderID})
	})
}

// handleRelease frees the ticket if the order holds it, and remembers that
// the order can never hold it: 200; 404 no such ticket.
func handleRelease(log *slog.Logger, tickets *ticketStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.DecodeValid[reserveBody](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		if _, err := store.Apply(r.Context(), tickets.db, release(mux.Vars(r)["id"], in.OrderID.Trimmed())); err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusOK, struct{}{})
	})
}
