package main

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// handleCreateOrder takes a ticket for the signed-in user: 201 with the order
// (status created, expiring after the window); publishes order:created. 404
// for a ticket orders has not heard of, 400 "Ticket is already reserved" if an
// order holds it: of concurrent orders for one ticket, exactly one wins.
func handleCreateOrder(log *slog.Logger, orders *orderStore, window time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.DecodeValid[orderRequest](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		user, _ := auth.FromContext(r.Context())
		o, err := orders.place(r.Context(), user.ID, in.TicketID.Trimmed(), time.Now(), window)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusCreated, o.view())
	})
}

// handleListOrders answers the signed-in user's orders, each with its ticket;
// [] when there are none.
func handleListOrders(log *slog.Logger, orders *orderStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := auth.FromContext(r.Context())
		list, err := orders.ordersOf(r.Context(), user.ID)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusOK, views(list))
	})
}

// handleShowOrder answers one of the user's orders: 404 unknown, 401 someone
// else's.
func handleShowOrder(log *slog.Logger, orders *orderStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := auth.FromContext(r.Context())
		o, err := orders.order(r.Context(), mux.Vars(r)["id"])
		if err == nil {
			err = o.ownedBy(user.ID)
		}
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusOK, o.view())
	})
}

// handleCancelOrder cancels one of the user's orders and frees its ticket:
// 204; publishes order:cancelled. 404 unknown, 401 someone else's, 400 paid,
// 400 while a payment for it is in flight (once orders answered 204, no
// payment for the order is ever taken). Cancelling a cancelled order is a 204
// that publishes nothing.
func handleCancelOrder(log *slog.Logger, orders *orderStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := auth.FromContext(r.Context())
		_, err := orders.cancel(r.Context(), mux.Vars(r)["id"], user.ID, time.Now())
		if err != nil && !errors.Is(err, ErrAlreadyCancelled) {
			web.Error(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
