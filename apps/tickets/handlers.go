package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// ticketResponse is a ticket as the API shows it: the original's fields, with
// orderId only while the ticket is reserved.
type ticketResponse struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	UserID  string  `json:"userId"`
	Version int64   `json:"version"`
	OrderID string  `json:"orderId,omitempty"`
}

func responseOf(t Ticket) ticketResponse {
	return ticketResponse{ID: t.ID, Title: t.Title, Price: t.Price, UserID: t.UserID, Version: t.Version, OrderID: t.OrderID}
}

// handleCreateTicket lists a ticket for the signed-in user: 201 with the
// ticket at version 0; publishes ticket:created.
func handleCreateTicket(log *slog.Logger, tickets *ticketStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.DecodeValid[ticketRequest](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		user, _ := auth.FromContext(r.Context())
		t, err := tickets.create(r.Context(), newTicket(newID(), user.ID, in, time.Now()))
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusCreated, responseOf(t))
	})
}

const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// handleListTickets answers one page of the tickets for sale, newest listing
// first, so that a client that reads only the first page (the original's
// client shows the one response it gets) shows the latest listings. The body
// stays a JSON array, as the original's; the next page's URL is in a Link
// header (RFC 8288) when there is one.
func handleListTickets(log *slog.Logger, tickets *ticketStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, page, err := pageParams(r.URL.Query())
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		list, next, err := tickets.forSale(r.Context(), limit, page)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		if next != "" {
			w.Header().Set("Link", nextLink(limit, next))
		}
		out := make([]ticketResponse, len(list))
		for i, t := range list {
			out[i] = responseOf(t)
		}
		web.JSON(w, http.StatusOK, out)
	})
}

// maxTokenLen bounds ?page=; the store's tokens are short (an offset today).
const maxTokenLen = 200

// pageParams reads ?limit= (1 to maxPageSize, default defaultPageSize) and
// ?page= (an opaque token from a previous Link header).
func pageParams(q url.Values) (limit int, page string, err error) {
	p := map[string]string{}
	limit = defaultPageSize
	if s := q.Get("limit"); s != "" {
		n, convErr := strconv.Atoi(s)
		if convErr != nil || n < 1 || n > maxPageSize {
			p["limit"] = fmt.Sprintf("Limit must be a whole number from 1 to %d", maxPageSize)
		} else {
			limit = n
		}
	}
	page = q.Get("page")
	if !validToken(page) {
		p["page"] = "Page must be the token of a Link header"
	}
	return limit, page, apperr.Fields(p)
}

// validToken reports whether page can be a token the store gave: the offset
// of the next page, in digits (Dapr's SQL stores count rows); "" for the
// first page.
func validToken(page string) bool {
	if len(page) > maxTokenLen {
		return false
	}
	for _, c := range page {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(page) <= 9
}

func nextLink(limit int, token string) string {
	q := url.Values{"limit": {strconv.Itoa(limit)}, "page": {token}}
	return fmt.Sprintf(`</api/tickets?%s>; rel="next"`, q.Encode())
}

// handleShowTicket answers the ticket, reserved or not, or 404.
func handleShowTicket(log *slog.Logger, tickets *ticketStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, _, err := tickets.get(r.Context(), mux.Vars(r)["id"])
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusOK, responseOf(t))
	})
}

// handleUpdateTicket edits a ticket for its owner, checking in the original's
// order: 400 invalid, 404 unknown, 400 reserved, 401 not the owner. 200 with
// the ticket at its next version; publishes ticket:updated. 409 if other
// changes kept winning the race.
func handleUpdateTicket(log *slog.Logger, tickets *ticketStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.DecodeValid[ticketRequest](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		user, _ := auth.FromContext(r.Context())
		t, err := tickets.edit(r.Context(), mux.Vars(r)["id"], user.ID, in)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusOK, responseOf(t))
	})
}
