package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// Ticket is a ticket listed for sale. Every change adds one to its version and
// is announced with that version, so that listeners apply changes in order.
type Ticket struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	UserID  string  `json:"userId"`
	Version int64   `json:"version"`
	// OrderID is the order holding the ticket, if any.
	OrderID string `json:"orderId,omitempty"`
	// ListedAt orders the listing. Fixed-width UTC text sorts like the time
	// it holds, in any store's query engine.
	ListedAt string `json:"listedAt"`
	// Listing is ForSale while OrderID is "", Reserved otherwise: stored so
	// that a state query can filter on it. It is text, not a bool, because
	// Dapr's PostgreSQL store compares a queried field as text and cannot
	// bind a boolean to that comparison.
	Listing listing `json:"listing"`
}

// listing says whether a ticket can be bought.
type listing string

const (
	ForSale  listing = "for-sale"
	Reserved listing = "reserved"
)

// listedAtLayout has a fixed width (nanoseconds always printed), unlike
// time.RFC3339Nano, so that text order is time order.
const listedAtLayout = "2006-01-02T15:04:05.000000000Z"

const (
	maxTitleRunes = 200
	// maxPrice keeps a price far inside what float64 holds to the cent and
	// what a card charge in cents can express.
	maxPrice = 1_000_000
)

var (
	ErrTicketNotFound = apperr.New(apperr.NotFound, "Not Found")
	ErrReserved       = apperr.New(apperr.Rule, "Cannot edit a reserved ticket")
	// ErrNotOwner is the original's 401 for someone else's ticket; it reads
	// exactly like auth.ErrNotAuthorized, kept here so the domain needs no HTTP
	// package.
	ErrNotOwner = apperr.New(apperr.Unauthorized, "Not authorized")
	// ErrHeldByAnotherOrder: an order:created for a ticket another order still
	// holds. That order's cancellation has not been applied yet.
	ErrHeldByAnotherOrder = errors.New("ticket is held by another order")
	// ErrOrderReleased: a reservation asked for an order that was cancelled.
	ErrOrderReleased = apperr.New(apperr.Conflict, "The order was cancelled")
)

// ticketRequest is the body of POST and PUT /api/tickets.
type ticketRequest struct {
	Title web.Text   `json:"title"`
	Price web.Number `json:"price"` // a number, or a numeric string ("20.00"), as the original took it
}

// Validate checks the original's rules, plus bounds the original lacked: a
// price is a positive amount of whole cents up to maxPrice, because payments
// charges it in cents. Sub-cent prices are refused rather than rounded, so
// nobody is charged other than what they saw.
func (r ticketRequest) Validate() map[string]string {
	p := map[string]string{}
	title := r.Title.Trimmed()
	switch {
	case title == "":
		p["title"] = "Title is required"
	case utf8.RuneCountInString(title) > maxTitleRunes:
		p["title"] = fmt.Sprintf("Title must be at most %d characters", maxTitleRunes)
	}
	switch {
	case !r.Price.Valid() || r.Price.Value() <= 0:
		p["price"] = "Price must be greater than 0"
	case r.Price.Value() > maxPrice:
		p["price"] = fmt.Sprintf("Price must be at most %d", maxPrice)
	case math.Abs(r.Price.Value()*100-math.Round(r.Price.Value()*100)) > 1e-6:
		p["price"] = "Price must have at most 2 decimal places"
	}
	return p
}

// title and price are the request's values as stored: trimmed, and exactly
// to the cent (19.99 as the float nearest 1999/100).
func (r ticketRequest) title() string  { return r.Title.Trimmed() }
func (r ticketRequest) price() float64 { return math.Round(r.Price.Value()*100) / 100 }

// newTicket lists a ticket for sale at version 0.
func newTicket(id, userID string, in ticketRequest, now time.Time) Ticket {
	return Ticket{
		ID:       id,
		Title:    in.title(),
		Price:    in.price(),
		UserID:   userID,
		ListedAt: now.UTC().Format(listedAtLayout),
		Listing:  ForSale,
	}
}

// edit changes the title and price for its owner, checking in the original's
// order: a reserved ticket is refused before ownership is looked at.
func (t Ticket) edit(userID string, in ticketRequest) (Ticket, error) {
	if t.OrderID != "" {
		return t, ErrReserved
	}
	if t.UserID != userID {
		return t, ErrNotOwner
	}
	t.Title, t.Price = in.title(), in.price()
	t.Version++
	return t, nil
}

// reserve holds the ticket for an order. changed is false, with no error, when
// there is nothing to do: the order already holds it (a redelivery), or the
// order was cancelled before its creation reached us (orderReleased). Another
// order holding it is ErrHeldByAnotherOrder: retry once its cancellation is in.
func (t Ticket) reserve(orderID string, orderReleased bool) (_ Ticket, changed bool, _ error) {
	switch {
	case t.OrderID == orderID:
		return t, false, nil
	case orderReleased:
		return t, false, nil
	case t.OrderID != "":
		return t, false, fmt.Errorf("%w: %s holds %s", ErrHeldByAnotherOrder, t.OrderID, t.ID)
	}
	t.OrderID, t.Listing = orderID, Reserved
	t.Version++
	return t, true, nil
}

// release frees the ticket if orderID holds it; changed is false otherwise.
func (t Ticket) release(orderID string) (_ Ticket, changed bool) {
	if t.OrderID == "" || t.OrderID != orderID {
		return t, false
	}
	t.OrderID, t.Listing = "", ForSale
	t.Version++
	return t, true
}

func (t Ticket) createdEvent() events.Message {
	return events.TicketCreatedEvent{ID: t.ID, Version: t.Version, Title: t.Title, Price: t.Price, UserID: t.UserID}.Message()
}

func (t Ticket) updatedEvent() events.Message {
	return events.TicketUpdatedEvent{ID: t.ID, Version: t.Version, Title: t.Title, Price: t.Price, UserID: t.UserID, OrderID: t.OrderID}.Message()
}

// newID returns a random 96-bit id in hex, the size of a MongoDB ObjectId.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
