package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// Order is a buyer's claim on one ticket: created (held, unpaid), then
// complete (paid) or cancelled (by the buyer, or on expiry). Every change adds
// one to its version.
type Order struct {
	ID        string             `json:"id"`
	UserID    string             `json:"userId"`
	Status    events.OrderStatus `json:"status"`
	ExpiresAt time.Time          `json:"expiresAt"`
	Ticket    OrderTicket        `json:"ticket"`
	Version   int64              `json:"version"`
	CreatedAt time.Time          `json:"createdAt"`
}

// OrderTicket is the ticket as it was when the order took it.
type OrderTicket struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	Version int64   `json:"version"`
}

// Ticket is orders' copy of a ticket, kept from the ticket events. ReservedBy
// is orders' own: the order holding the ticket, set and cleared in the same
// transaction as that order, never taken from an event.
type Ticket struct {
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	Price      float64 `json:"price"`
	Version    int64   `json:"version"`
	ReservedBy string  `json:"reservedBy,omitempty"`
}

// userOrders indexes a buyer's orders, oldest first, in pages: the head
// (this) holds the newest ids, up to ordersPerPage; once full, its ids move to
// page number Pages (a key of its own, written once) and the head starts
// again. So placing an order rewrites a small record whatever the buyer's
// history, and listing reads the head, then its pages in one call.
type userOrders struct {
	OrderIDs []string `json:"orderIds"`
	Pages    int      `json:"pages,omitempty"`
}

// ordersPerPage is how many order ids a page (and the head) holds.
const ordersPerPage = 64

var (
	ErrNotFound = apperr.New(apperr.NotFound, "Not Found")
	// ErrNotOwner is the original's 401 for someone else's order; it reads
	// exactly like auth.ErrNotAuthorized, kept here so the domain needs no HTTP
	// package.
	ErrNotOwner         = apperr.New(apperr.Unauthorized, "Not authorized")
	ErrTicketReserved   = apperr.New(apperr.Rule, "Ticket is already reserved")
	ErrOrderComplete    = apperr.New(apperr.Rule, "Cannot cancel a completed order")
	ErrAlreadyCancelled = apperr.New(apperr.Rule, "Order is already cancelled")
	ErrAlreadyComplete  = apperr.New(apperr.Rule, "Order is already complete")
	ErrOrderCancelled   = apperr.New(apperr.Rule, "Order is cancelled")
	// ErrVersionGap: a ticket:updated whose previous version has not been
	// applied yet.
	ErrVersionGap = errors.New("an earlier ticket update has not arrived")
)

// orderRequest is the body of POST /api/orders.
type orderRequest struct {
	TicketID string `json:"ticketId"`
}

func (r orderRequest) Validate() map[string]string {
	p := map[string]string{}
	if strings.TrimSpace(r.TicketID) == "" {
		p["ticketId"] = "TicketId must be provided"
	}
	return p
}

// newOrder takes a free ticket for a buyer until now + window. It returns the
// order and the ticket copy as it must be saved with it, or ErrTicketReserved.
func newOrder(id, userID string, t Ticket, now time.Time, window time.Duration) (Order, Ticket, error) {
	if t.ReservedBy != "" {
		return Order{}, t, ErrTicketReserved
	}
	now = now.UTC().Truncate(time.Millisecond) // what a JavaScript client's Date keeps
	o := Order{
		ID:        id,
		UserID:    userID,
		Status:    events.OrderStatusCreated,
		ExpiresAt: now.Add(window),
		Ticket:    OrderTicket{ID: t.ID, Title: t.Title, Price: t.Price, Version: t.Version},
		CreatedAt: now,
	}
	t.ReservedBy = id
	return o, t, nil
}

// ownedBy is ErrNotOwner unless the order is the user's.
func (o Order) ownedBy(userID string) error {
	if o.UserID != userID {
		return ErrNotOwner
	}
	return nil
}

// cancel moves the order to cancelled: ErrOrderComplete if it was paid (a paid
// order is never cancelled), ErrAlreadyCancelled if there is nothing to do.
func (o Order) cancel() (Order, error) {
	switch o.Status {
	case events.OrderStatusComplete:
		return o, ErrOrderComplete
	case events.OrderStatusCancelled:
		return o, ErrAlreadyCancelled
	}
	o.Status = events.OrderStatusCancelled
	o.Version++
	return o, nil
}

// complete marks the order paid: ErrAlreadyComplete if it was, and
// ErrOrderCancelled if it was cancelled first (the charge then needs a refund).
func (o Order) complete() (Order, error) {
	switch o.Status {
	case events.OrderStatusComplete:
		return o, ErrAlreadyComplete
	case events.OrderStatusCancelled:
		return o, ErrOrderCancelled
	}
	o.Status = events.OrderStatusComplete
	o.Version++
	return o, nil
}

func (o Order) createdEvent() events.Message {
	return events.OrderCreatedEvent{
		ID: o.ID, Version: o.Version, Status: o.Status, UserID: o.UserID, ExpiresAt: o.ExpiresAt,
		Ticket: events.OrderTicket{ID: o.Ticket.ID, Price: o.Ticket.Price},
	}.Message()
}

func (o Order) cancelledEvent() events.Message {
	return events.OrderCancelledEvent{ID: o.ID, Version: o.Version, Ticket: events.OrderTicket{ID: o.Ticket.ID}}.Message()
}

// release frees the ticket if orderID holds it; changed is false otherwise.
func (t Ticket) release(orderID string) (_ Ticket, changed bool) {
	if t.ReservedBy == "" || t.ReservedBy != orderID {
		return t, false
	}
	t.ReservedBy = ""
	return t, true
}

// ticketFromEvent is the copy a ticket:created makes.
func ticketFromEvent(ev events.TicketCreatedEvent) Ticket {
	return Ticket{ID: ev.ID, Title: ev.Title, Price: ev.Price, Version: ev.Version}
}

// applyUpdate takes a ticket:updated in version order: changed is false for
// one already applied; ErrVersionGap while the one before it is missing. The
// reservation is orders' own and is kept.
func (t Ticket) applyUpdate(ev events.TicketUpdatedEvent) (_ Ticket, changed bool, _ error) {
	switch {
	case ev.Version <= t.Version:
		return t, false, nil
	case ev.Version != t.Version+1:
		return t, false, fmt.Errorf("%w: ticket %s is at version %d, the update is version %d", ErrVersionGap, t.ID, t.Version, ev.Version)
	}
	t.Title, t.Price, t.Version = ev.Title, ev.Price, ev.Version
	return t, true, nil
}

// with adds an order to the index, once.
// with adds orderID to the head; full, if not nil, is a page the head filled,
// to be saved as page number u.Pages (the head's count before the add).
func (u userOrders) with(orderID string) (head userOrders, full []string) {
	if slices.Contains(u.OrderIDs, orderID) {
		return u, nil
	}
	if len(u.OrderIDs) >= ordersPerPage {
		return userOrders{OrderIDs: []string{orderID}, Pages: u.Pages + 1}, u.OrderIDs
	}
	return userOrders{OrderIDs: append(slices.Clip(u.OrderIDs), orderID), Pages: u.Pages}, nil
}

// newID returns a random 96-bit id in hex, the size of a MongoDB ObjectId.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
