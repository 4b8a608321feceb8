package main

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/tixmesh/ticketing/apps/pkg/invoke"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// Orders' internal API (package invoke has its contract): orders is the
// authority on an order's status, so payments asks it before it charges
// anything and tells it how the payment ended, and tickets asks about a
// reservation whose order it never heard of.

type payBody struct {
	UserID web.Text `json:"userId"`
}

func (b payBody) Validate() map[string]string {
	if b.UserID.Trimmed() == "" {
		return map[string]string{"userId": "UserId must be provided"}
	}
	return nil
}

// handlePay holds an order for its buyer's payment (awaiting:payment, for
// the payment lease): 200 with what to charge; 404 unknown, 401 someone
// else's, 400 "Cannot pay for an cancelled order" (cancelled, or past its
// deadline), 400 already paid. From this answer on, the order is not
// cancelled until payments says the payment took no money.
func handlePay(log *slog.Logger, orders *orderStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.DecodeValid[payBody](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		o, err := store.Apply(r.Context(), orders.db, payChange(mux.Vars(r)["id"], in.UserID.Trimmed(), time.Now(), orders.lease))
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusOK, invoke.Payable{
			ID: o.ID, UserID: o.UserID, Status: string(o.Status), Price: o.Ticket.Price,
			TicketID: o.Ticket.ID, SellerID: o.Ticket.UserID, ExpiresAt: o.ExpiresAt, Version: o.Version,
			TraceParent: o.Trace,
		})
	})
}

// handlePaid completes an order: 200 (also if it was complete); 404
// unknown; 409 if it was cancelled (the money must go back).
func handlePaid(log *slog.Logger, orders *orderStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := store.Apply(r.Context(), orders.db, completeChange(mux.Vars(r)["id"]))
		switch {
		case err == nil, errors.Is(err, ErrAlreadyComplete):
			web.JSON(w, http.StatusOK, struct{}{})
		case errors.Is(err, ErrOrderCancelled):
			web.Error(w, r, log, errPaidCancelled)
		default:
			web.Error(w, r, log, err)
		}
	})
}

// handleUnpaid ends a payment that took no money: the order is payable
// again (or cancelled at once if its deadline passed): 200; 404 unknown.
func handleUnpaid(log *slog.Logger, orders *orderStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := store.Apply(r.Context(), orders.db, unpaidChange(mux.Vars(r)["id"], time.Now())); err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusOK, struct{}{})
	})
}

// handleAbandon answers tickets' hold sweep: the order's status, or
// "abandoned" for an order orders never made (and now never will).
func handleAbandon(log *slog.Logger, orders *orderStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, err := store.Apply(r.Context(), orders.db, abandonChange(mux.Vars(r)["id"]))
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusOK, invoke.OrderStatus{Status: string(status)})
	})
}
