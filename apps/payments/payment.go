package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// Order is payments' copy of an order, kept from the order events: enough to
// decide whether it can be paid, by whom, and how much.
type Order struct {
	ID      string             `json:"id"`
	UserID  string             `json:"userId"`
	Price   float64            `json:"price"`
	Status  events.OrderStatus `json:"status"`
	Version int64              `json:"version"`
}

// PaymentStatus is where a payment stands.
type PaymentStatus string

const (
	// Pending: a request has claimed the order and is charging (or was, and
	// died or lost touch with Stripe; see Payment.takeOver).
	PaymentPending PaymentStatus = "pending"
	// Succeeded: the charge exists; payment:created has been committed.
	PaymentSucceeded PaymentStatus = "succeeded"
	// Refunded: the charge was made but its order had been cancelled (it
	// expired while the payment was in flight): the money went back.
	PaymentRefunded PaymentStatus = "refunded"
)

// Payment is the one payment of an order. It exists from the moment a request
// claims the order, before Stripe is called, so that concurrent requests for
// one order never both reach Stripe.
type Payment struct {
	ID      string        `json:"id"`
	OrderID string        `json:"orderId"`
	UserID  string        `json:"userId"`
	Amount  int64         `json:"amount"` // cents
	Status  PaymentStatus `json:"status"`
	// StripeID is the charge's id, once it succeeded.
	StripeID string `json:"stripeId,omitempty"`
	// Token is what the pending attempt charges. A takeover charges it again,
	// unchanged, so that Stripe sees the same request under the same
	// idempotency key and replays its first answer. Cleared on success.
	Token     string    `json:"token,omitempty"`
	AttemptAt time.Time `json:"attemptAt"`
	Version   int64     `json:"version"`
}

var (
	ErrOrderNotFound = apperr.New(apperr.NotFound, "Not Found")
	// ErrNotOwner reads exactly like auth.ErrNotAuthorized, kept here so the
	// domain needs no HTTP package.
	ErrNotOwner          = apperr.New(apperr.Unauthorized, "Not authorized")
	ErrOrderCancelled    = apperr.New(apperr.Rule, "Cannot pay for an cancelled order") // the original's wording
	ErrAlreadyPaid       = apperr.New(apperr.Rule, "Order has already been paid")
	ErrPaymentInProgress = apperr.New(apperr.Conflict, "A payment for this order is in progress")
	// ErrProviderUnavailable: Stripe could not be reached, failed, or timed
	// out. The charge may or may not exist, so the claim is kept.
	ErrProviderUnavailable = apperr.New(apperr.Unavailable, "Payment provider unavailable; try again shortly")
	// ErrCardDeclined is the message for a card error that came without one.
	ErrCardDeclined = apperr.New(apperr.Rule, "Your card was declined")
	// ErrNotCharged marks a charge error after which no money can have moved
	// (a declined card, a request Stripe refused): the claim is released so
	// that the order can be paid with another card.
	ErrNotCharged = errors.New("not charged")
	// ErrVersionGap: an order:cancelled whose previous version has not been
	// applied yet.
	ErrVersionGap = errors.New("an earlier order event has not arrived")
)

// notCharged marks err with ErrNotCharged, keeping what it says to the user.
func notCharged(err error) error { return fmt.Errorf("%w: %w", ErrNotCharged, err) }

// paymentRequest is the body of POST /api/payments. Token is a Stripe token
// ("tok_visa") or a payment method id.
type paymentRequest struct {
	Token   string `json:"token"`
	OrderID string `json:"orderId"`
}

func (r paymentRequest) Validate() map[string]string {
	p := map[string]string{}
	if strings.TrimSpace(r.Token) == "" {
		p["token"] = "Token must be provided"
	}
	if strings.TrimSpace(r.OrderID) == "" {
		p["orderId"] = "OrderId must be provided"
	}
	return p
}

// orderFromCreated is the copy of a new order.
func orderFromCreated(ev events.OrderCreatedEvent) Order {
	return Order{ID: ev.ID, UserID: ev.UserID, Price: ev.Ticket.Price, Status: events.OrderStatusCreated, Version: ev.Version}
}

// cancel applies an order:cancelled of the given version. A version already
// applied changes nothing (a redelivery); the next one cancels; a later one
// means an event in between is missing, and is ErrVersionGap.
func (o Order) cancel(version int64) (cancelled Order, changed bool, err error) {
	switch {
	case o.Version >= version:
		return o, false, nil
	case o.Version == version-1:
		o.Status, o.Version = events.OrderStatusCancelled, version
		return o, true, nil
	default:
		return o, false, fmt.Errorf("order %s at version %d, event at %d: %w", o.ID, o.Version, version, ErrVersionGap)
	}
}

// checkPayable says whether userID may pay for the order now. Whether it has
// been paid already is the payment record's to say (see Payment.takeOver).
func (o Order) checkPayable(userID string) error {
	if o.UserID != userID {
		return ErrNotOwner
	}
	if o.Status == events.OrderStatusCancelled {
		return ErrOrderCancelled
	}
	return nil
}

// cents converts a price in dollars to whole cents, as Stripe wants it.
func cents(price float64) int64 { return int64(math.Round(price * 100)) }

// newClaim is a fresh pending payment of the order by userID with token.
func newClaim(o Order, userID, token string, now time.Time) Payment {
	return Payment{
		ID:        newID(),
		OrderID:   o.ID,
		UserID:    userID,
		Amount:    cents(o.Price),
		Status:    PaymentPending,
		Token:     strings.TrimSpace(token),
		AttemptAt: now.UTC(),
	}
}

// takeOver decides what a request does with the payment it found when it
// tried to claim the order: a succeeded one means the order is paid; a
// pending one younger than after is another request still charging; an older
// pending one was abandoned (a crash, or Stripe never answered), and is taken
// over with a new attempt time, to be charged again under the same idempotency
// key and with the same token.
func (p Payment) takeOver(now time.Time, after time.Duration) (Payment, error) {
	if p.Status == PaymentSucceeded {
		return p, ErrAlreadyPaid
	}
	if now.Sub(p.AttemptAt) < after {
		return p, ErrPaymentInProgress
	}
	p.AttemptAt = now.UTC()
	p.Version++
	return p, nil
}

// Charge is one request to the payment provider.
type Charge struct {
	// IdempotencyKey is the same for every attempt of one claim, so a charge
	// retried after a crash or a timeout is the charge Stripe already made.
	IdempotencyKey string
	Token          string
	Amount         int64 // cents
	Currency       string
	Description    string
	OrderID        string
	PaymentID      string
}

// charge is the provider request for this payment. The idempotency key is
// derived from the order and this claim's id: a takeover keeps both, so it
// replays the same request; a claim released after a decline takes a new id,
// so the buyer can try another card (Stripe would answer a reused key with
// different parameters with an idempotency error, for 24 hours).
func (p Payment) charge() Charge {
	return Charge{
		IdempotencyKey: "charge-" + p.OrderID + "-" + p.ID,
		Token:          p.Token,
		Amount:         p.Amount,
		Currency:       "usd",
		Description:    "Payment for order " + p.OrderID,
		OrderID:        p.OrderID,
		PaymentID:      p.ID,
	}
}

// Confirmation says that a charge for an order succeeded: from the charge
// answer on the API path, or from a Stripe webhook.
type Confirmation struct {
	OrderID   string
	PaymentID string // the id the charge carries in its metadata, if any
	StripeID  string
	Amount    int64 // cents, as charged
}

// applyConfirmation applies a confirmation to the order's payment, if there is one
// (found). Pending becomes succeeded with the charge's id; a missing payment
// (a charge Stripe made that no request recorded) is created succeeded for
// the order's buyer; a succeeded one is left alone, whichever path confirmed
// it first. changed says whether there is anything to write and publish.
func applyConfirmation(p Payment, found bool, c Confirmation, o Order, now time.Time) (confirmed Payment, changed bool) {
	if found && p.Status == PaymentSucceeded {
		return p, false
	}
	if !found {
		id := c.PaymentID
		if id == "" {
			id = newID()
		}
		p = Payment{ID: id, OrderID: c.OrderID, UserID: o.UserID, Amount: c.Amount, AttemptAt: now.UTC(), Version: -1}
	}
	p.Status, p.StripeID, p.Token = PaymentSucceeded, c.StripeID, ""
	p.Version++
	return p, true
}

// refunded is the payment once its charge went back; changed is false if it
// already had.
func (p Payment) refunded(stripeID string) (_ Payment, changed bool) {
	if p.Status == PaymentRefunded {
		return p, false
	}
	p.Status, p.Token = PaymentRefunded, ""
	if stripeID != "" {
		p.StripeID = stripeID
	}
	p.Version++
	return p, true
}

// Refund is one request to give a charge's money back. Its idempotency key is
// per order: the two paths that may refund one charge (a cancellation seen
// after the payment, a payment finished after the cancellation) make one
// refund between them.
type Refund struct {
	ChargeID, OrderID, IdempotencyKey string
}

func refundOf(p Payment) Refund {
	return Refund{ChargeID: p.StripeID, OrderID: p.OrderID, IdempotencyKey: "refund-" + p.OrderID}
}

// createdEvent announces a succeeded payment; orders marks the order complete.
func (p Payment) createdEvent() events.Message {
	return events.PaymentCreatedEvent{ID: p.ID, OrderID: p.OrderID, StripeID: p.StripeID}.Message()
}

// newID returns a random 96-bit id in hex, the size of a MongoDB ObjectId.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
