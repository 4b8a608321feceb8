package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/web"
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
	// PaymentUntil is set while the order is awaiting:payment: until then a
	// payment is in flight, and the order is neither cancelled nor expired;
	// after it, orders asks payments how the payment ended before either.
	PaymentUntil time.Time `json:"paymentUntil,omitzero"`
	// Trace is the W3C trace context of the request that placed the order:
	// the purchase's trace, which its payment continues (see handlePay).
	Trace string `json:"trace,omitempty"`
}

// orderView is an order as the API shows it: the original's fields (and
// when a payment in flight holds it), not orders' own bookkeeping.
type orderView struct {
	ID           string             `json:"id"`
	UserID       string             `json:"userId"`
	Status       events.OrderStatus `json:"status"`
	ExpiresAt    time.Time          `json:"expiresAt"`
	Ticket       OrderTicket        `json:"ticket"`
	Version      int64              `json:"version"`
	CreatedAt    time.Time          `json:"createdAt"`
	PaymentUntil time.Time          `json:"paymentUntil,omitzero"`
}

func (o Order) view() orderView {
	return orderView{ID: o.ID, UserID: o.UserID, Status: o.Status, ExpiresAt: o.ExpiresAt, Ticket: o.Ticket,
		Version: o.Version, CreatedAt: o.CreatedAt, PaymentUntil: o.PaymentUntil}
}

func views(orders []Order) []orderView {
	out := make([]orderView, len(orders))
	for i, o := range orders {
		out[i] = o.view()
	}
	return out
}

// OrderTicket is the ticket as the order took it (the version tickets
// reserved for it). An answer shows the ticket as orders knows it now (see
// withTicket), as the original did.
type OrderTicket struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	Version int64   `json:"version"`
	UserID  string  `json:"userId,omitempty"` // the seller
}

// Ticket is orders' copy of a ticket, kept from the ticket events. ReservedBy
// is orders' own: the order holding the ticket, set and cleared in the same
// transaction as that order, never taken from an event.
type Ticket struct {
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	Price      float64 `json:"price"`
	Version    int64   `json:"version"`
	UserID     string  `json:"userId,omitempty"` // the seller
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

// maxIDLength bounds a ticket id in a request: ids are 24 characters, and a
// longer one names nothing.
const maxIDLength = 64

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
	// ErrNotPayable is the original's 400 for paying a cancelled order (an
	// order past its deadline is one, whether or not its expiry is in yet).
	ErrNotPayable  = apperr.New(apperr.Rule, "Cannot pay for an cancelled order")
	ErrAlreadyPaid = apperr.New(apperr.Rule, "Order has already been paid")
	// ErrPaymentInProgress: a cancellation (or an expiry) while a payment is
	// in flight; it waits for the payment's outcome.
	ErrPaymentInProgress = apperr.New(apperr.Rule, "Cannot cancel an order while it is being paid")
	// errSettleFirst: an order awaiting a payment whose time is up; payments
	// must say how the payment ended before the order is cancelled.
	errSettleFirst = errors.New("the payment in flight must be settled first")
	// errAbandoned: the order took so long to be made that tickets gave up
	// its reservation (see abandonChange).
	errAbandoned = apperr.New(apperr.Conflict, "The order could not be placed in time; try again")
	// errPaidCancelled answers payments when a payment lands on a cancelled
	// order: the money goes back.
	errPaidCancelled = apperr.New(apperr.Conflict, "The order was cancelled")
	// ErrVersionGap: a ticket:updated whose previous version has not been
	// applied yet.
	ErrVersionGap = errors.New("an earlier ticket update has not arrived")
)

// orderRequest is the body of POST /api/orders.
type orderRequest struct {
	TicketID web.Text `json:"ticketId"`
}

func (r orderRequest) Validate() map[string]string {
	p := map[string]string{}
	if r.TicketID.Trimmed() == "" || len(r.TicketID.Trimmed()) > maxIDLength {
		p["ticketId"] = "TicketId must be provided"
	}
	return p
}

// newOrder takes a free ticket for a buyer until now + window. It returns the
// order and the ticket copy as it must be saved with it, or ErrTicketReserved.
func newOrder(id, userID string, t Ticket, now time.Time, window time.Duration) (Order, Ticket, error) {
	if t.ReservedBy != "" && t.ReservedBy != id {
		return Order{}, t, ErrTicketReserved
	}
	now = now.UTC().Truncate(time.Millisecond) // what a JavaScript client's Date keeps
	o := Order{
		ID:        id,
		UserID:    userID,
		Status:    events.OrderStatusCreated,
		ExpiresAt: now.Add(window),
		Ticket:    orderTicket(t),
		CreatedAt: now,
	}
	t.ReservedBy = id
	return o, t, nil
}

func orderTicket(t Ticket) OrderTicket {
	return OrderTicket{ID: t.ID, Title: t.Title, Price: t.Price, Version: t.Version, UserID: t.UserID}
}

// withTicket is the order as an answer shows it: with its ticket as orders
// knows it now (the copy), as the original's populated ticket was.
func (o Order) withTicket(t Ticket, found bool) Order {
	if found && t.ID == o.Ticket.ID {
		o.Ticket = orderTicket(t)
	}
	return o
}

// reservedAs is the copy updated with the ticket as its owner reserved it
// for orderID: the owner's title, price and version when they are newer than
// the copy's, and the reservation.
func (t Ticket) reservedAs(owner Ticket, orderID string) Ticket {
	if t.ID == "" || owner.Version >= t.Version {
		t.ID, t.Title, t.Price, t.Version, t.UserID = owner.ID, owner.Title, owner.Price, owner.Version, owner.UserID
	}
	t.ReservedBy = orderID
	return t
}

// payable reports whether userID may pay for the order at now: ErrNotOwner,
// ErrNotPayable (cancelled, or past its deadline), ErrAlreadyPaid.
func (o Order) payable(userID string, now time.Time) error {
	switch {
	case o.UserID != userID:
		return ErrNotOwner
	case o.Status == events.OrderStatusCancelled:
		return ErrNotPayable
	case o.Status == events.OrderStatusComplete:
		return ErrAlreadyPaid
	case o.Status == events.OrderStatusCreated && !now.Before(o.ExpiresAt):
		return ErrNotPayable // expired, its cancellation on its way
	}
	return nil
}

// awaitPayment holds the order for a payment until now + lease (again, for
// a second attempt while the first is in flight; payments lets one charge).
func (o Order) awaitPayment(userID string, now time.Time, lease time.Duration) (Order, error) {
	if err := o.payable(userID, now); err != nil {
		return o, err
	}
	o.Status, o.PaymentUntil = events.OrderStatusAwaitingPayment, now.UTC().Add(lease)
	return o, nil
}

// unpaid ends a payment that took no money: the order is payable again.
// changed is false if it was not awaiting one.
func (o Order) unpaid() (_ Order, changed bool) {
	if o.Status != events.OrderStatusAwaitingPayment {
		return o, false
	}
	o.Status, o.PaymentUntil = events.OrderStatusCreated, time.Time{}
	return o, true
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
// An order awaiting a payment is not cancelled while the payment may be in
// flight (ErrPaymentInProgress, until PaymentUntil), nor after that until
// payments has said the payment took no money (errSettleFirst; settled says
// it has).
func (o Order) cancel(now time.Time, settled bool) (Order, error) {
	switch o.Status {
	case events.OrderStatusComplete:
		return o, ErrOrderComplete
	case events.OrderStatusCancelled:
		return o, ErrAlreadyCancelled
	case events.OrderStatusAwaitingPayment:
		switch {
		case settled:
		case now.Before(o.PaymentUntil):
			return o, ErrPaymentInProgress
		default:
			return o, errSettleFirst
		}
	}
	o.Status, o.PaymentUntil = events.OrderStatusCancelled, time.Time{}
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
	o.Status, o.PaymentUntil = events.OrderStatusComplete, time.Time{}
	o.Version++
	return o, nil
}

func (o Order) createdEvent() events.Message {
	return events.OrderCreatedEvent{
		ID: o.ID, Version: o.Version, Status: o.Status, UserID: o.UserID, ExpiresAt: o.ExpiresAt,
		Ticket: events.OrderTicket{ID: o.Ticket.ID, Price: o.Ticket.Price}, SellerID: o.Ticket.UserID,
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
	return Ticket{ID: ev.ID, Title: ev.Title, Price: ev.Price, Version: ev.Version, UserID: ev.UserID}
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
	if ev.UserID != "" {
		t.UserID = ev.UserID
	}
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
