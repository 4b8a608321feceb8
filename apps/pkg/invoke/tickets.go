package invoke

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// Tickets' internal API (orders calls it).
const (
	TicketsApp = "tickets"
	// ReservePath holds a ticket for an order: POST, ReserveRequest ->
	// Ticket (the ticket as reserved). 404 no such ticket; 409 another order
	// holds it (Held says which) or this order was cancelled.
	ReservePath = "/internal/tickets/{id}/reserve"
	// ReleasePath frees a ticket an order holds (and remembers the order
	// can never hold it again): POST, ReserveRequest -> nothing.
	ReleasePath = "/internal/tickets/{id}/release"
)

// ReserveRequest names the order a ticket is reserved for or released from.
type ReserveRequest struct {
	OrderID string `json:"orderId"`
}

// Ticket is a ticket as its owner has it now.
type Ticket struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	Version int64   `json:"version"`
	UserID  string  `json:"userId"` // the seller
	OrderID string  `json:"orderId,omitempty"`
}

// Held is the answer body of a refused reservation: the error shape, and the
// order that holds the ticket ("" when the order asking was cancelled).
type Held struct {
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
	HeldBy string `json:"heldBy,omitempty"`
}

// HeldBy returns the order a refused reservation names as the ticket's
// holder, or "".
func HeldBy(err error) string {
	var r *Refusal
	var h Held
	if errors.As(err, &r) && json.Unmarshal(r.Body, &h) == nil {
		return h.HeldBy
	}
	return ""
}

// path fills a route's {id}.
func path(route, id string) string { return strings.Replace(route, "{id}", url.PathEscape(id), 1) }

// Reserve asks tickets to hold ticketID for orderID and returns the ticket
// as reserved. A ticket held by another order is an apperr.Conflict error.
func (c *Client) Reserve(ctx context.Context, ticketID, orderID string) (Ticket, error) {
	var t Ticket
	err := c.call(ctx, TicketsApp, path(ReservePath, ticketID), ReserveRequest{OrderID: orderID}, &t)
	return t, err
}

// Release asks tickets to free ticketID if orderID holds it.
func (c *Client) Release(ctx context.Context, ticketID, orderID string) error {
	return c.call(ctx, TicketsApp, path(ReleasePath, ticketID), ReserveRequest{OrderID: orderID}, nil)
}
