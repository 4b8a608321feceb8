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
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// PaymentStatus is where a payment stands.
type PaymentStatus string

const (
	// Pending: a request has claimed the order and is paying (or was, and
	// died or lost touch with Stripe: the reconciler settles it).
	PaymentPending PaymentStatus = "pending"
	// RequiresAction: the buyer's bank asks the buyer to authenticate (3-D
	// Secure) in the browser; Stripe's webhook tells how it ended.
	PaymentRequiresAction PaymentStatus = "requires_action"
	// Processing: Stripe has not decided yet; its webhook will.
	PaymentProcessing PaymentStatus = "processing"
	// Succeeded: the money was taken; payment:created has been committed.
	PaymentSucceeded PaymentStatus = "succeeded"
	// Refunded: the money went back.
	PaymentRefunded PaymentStatus = "refunded"
	// Abandoned: orders ended the order (expired, cancelled) while payments
	// held its payment, and payments settled that no money was taken, nor
	// ever will be, for it.
	PaymentAbandoned PaymentStatus = "abandoned"
)

// open reports whether the payment's outcome is still to come.
func (s PaymentStatus) open() bool {
	return s == PaymentPending || s == PaymentRequiresAction || s == PaymentProcessing
}

// Payment is the one payment of an order. It exists from the moment a request
// claims the order, before Stripe is called, so that concurrent requests for
// one order never both reach Stripe.
type Payment struct {
	ID       string        `json:"id"`
	OrderID  string        `json:"orderId"`
	UserID   string        `json:"userId"`
	SellerID string        `json:"sellerId,omitempty"`
	Amount   int64         `json:"amount"` // cents
	Status   PaymentStatus `json:"status"`
	// Method is what the attempt pays with: a token (tok_...) or a payment
	// method (pm_...). Cleared once the payment is decided.
	Method string `json:"method,omitempty"`
	// IntentID is the attempt's PaymentIntent, once known; StripeID is the
	// id the payment is known by at Stripe once it succeeded (the intent's).
	IntentID     string `json:"intentId,omitempty"`
	ClientSecret string `json:"clientSecret,omitempty"`
	// NextActionURL is where the buyer authenticates without Stripe.js.
	NextActionURL string    `json:"nextActionUrl,omitempty"`
	StripeID      string    `json:"stripeId,omitempty"`
	AttemptAt     time.Time `json:"attemptAt"`
	Version       int64     `json:"version"`

	// Fee is the platform's fee (cents); the seller's share is Amount - Fee.
	// Destination is the seller's connected account when the attempt is a
	// destination charge (the seller could receive transfers when it
	// began). ChargeID is the succeeded intent's charge, which a transfer
	// sent later takes its money from.
	Fee         int64          `json:"fee"`
	Destination string         `json:"destination,omitempty"`
	ChargeID    string         `json:"chargeId,omitempty"`
	Transfer    TransferStatus `json:"transfer,omitempty"`
	TransferID  string         `json:"transferId,omitempty"`
}

// Share is the seller's share of the payment, in cents.
func (p Payment) Share() int64 { return p.Amount - p.Fee }

var (
	// ErrNotPayable is the original's wording for an order that is not
	// payable; payments also says it for an order it gave up a payment for.
	ErrNotPayable        = apperr.New(apperr.Rule, "Cannot pay for an cancelled order")
	ErrAlreadyPaid       = apperr.New(apperr.Rule, "Order has already been paid")
	ErrPaymentInProgress = apperr.New(apperr.Conflict, "A payment for this order is in progress")
	// ErrProviderUnavailable: Stripe could not be reached, failed, or timed
	// out. The payment may or may not exist, so the claim is kept.
	ErrProviderUnavailable = apperr.New(apperr.Unavailable, "Payment provider unavailable; try again shortly")
	// ErrCardDeclined is the message for a card error that came without one.
	ErrCardDeclined = apperr.New(apperr.Rule, "Your card was declined")
	// ErrNotCharged marks a provider error after which no money can have
	// moved (a declined card, a request Stripe refused): the claim is
	// released so that the order can be paid with another card.
	ErrNotCharged = errors.New("not charged")
	// errActionRequired: the attempt waits for the buyer to authenticate.
	errActionRequired = errors.New("the buyer must authenticate the payment")
)

// notCharged marks err with ErrNotCharged, keeping what it says to the user.
func notCharged(err error) error { return fmt.Errorf("%w: %w", ErrNotCharged, err) }

// maxIDLength bounds an order id in a request (ids are 24 characters);
// maxTokenLength a token or payment method id (Stripe's are far shorter).
const (
	maxIDLength    = 64
	maxTokenLength = 255
)

// paymentRequest is the body of POST /api/payments. Token is a Stripe token
// ("tok_visa", as the original's client sends) or a payment method id
// ("pm_card_visa", or one Stripe.js made).
type paymentRequest struct {
	Token   web.Text `json:"token"`
	OrderID web.Text `json:"orderId"`
}

func (r paymentRequest) Validate() map[string]string {
	p := map[string]string{}
	if r.Token.Trimmed() == "" || len(r.Token.Trimmed()) > maxTokenLength {
		p["token"] = "Token must be provided"
	}
	if r.OrderID.Trimmed() == "" || len(r.OrderID.Trimmed()) > maxIDLength {
		p["orderId"] = "OrderId must be provided"
	}
	return p
}

// cents converts a price in dollars to whole cents, as Stripe wants it.
func cents(price float64) int64 { return int64(math.Round(price * 100)) }

// newAttempt is a fresh pending payment of an order by userID with method:
// the platform's fee at feeBP basis points, and, when the seller can receive
// transfers, a destination charge to their account.
func newAttempt(orderID, userID, sellerID string, price float64, method string, now time.Time, feeBP int64, destination string) Payment {
	amount := cents(price)
	return Payment{
		ID:          newID(),
		OrderID:     orderID,
		UserID:      userID,
		SellerID:    sellerID,
		Amount:      amount,
		Fee:         feeOf(amount, feeBP),
		Destination: destination,
		Status:      PaymentPending,
		Method:      strings.TrimSpace(method),
		AttemptAt:   now.UTC(),
	}
}

// claimed decides what a request does with the payment it found for the
// order: a succeeded one means the order is paid; an open one is another
// request's (ErrPaymentInProgress), or this buyer's own, waiting for them to
// authenticate (errActionRequired); one abandoned means the order is not
// payable. A refunded one is paid for no longer: a new attempt may begin.
func (p Payment) claimed() error {
	switch p.Status {
	case PaymentSucceeded:
		return ErrAlreadyPaid
	case PaymentAbandoned:
		return ErrNotPayable
	case PaymentRequiresAction:
		return errActionRequired
	case PaymentPending, PaymentProcessing:
		return ErrPaymentInProgress
	}
	return nil
}

// key is the idempotency key of one of the attempt's requests to Stripe:
// the same for every retry of this attempt, so Stripe answers a repeat with
// its first answer (and a repeated creation finds the attempt's intent).
func (p Payment) key(step string) string { return step + "-" + p.OrderID + "-" + p.ID }

// succeeded is the payment once its money was taken: a destination charge
// moved the seller's share with it; otherwise the share waits to be sent.
func (p Payment) succeeded(in Intent) Payment {
	p.Status, p.StripeID, p.IntentID, p.ChargeID = PaymentSucceeded, in.ID, in.ID, in.ChargeID
	p.Method, p.ClientSecret, p.NextActionURL = "", "", ""
	p.Transfer = TransferPending
	if p.Destination != "" {
		p.Transfer = TransferWithCharge
	}
	p.Version++
	return p
}

// refunded is the payment once its money went back; changed is false if it
// already had.
func (p Payment) refunded() (_ Payment, changed bool) {
	if p.Status == PaymentRefunded {
		return p, false
	}
	p.Status, p.Method, p.ClientSecret, p.NextActionURL = PaymentRefunded, "", "", ""
	switch p.Transfer {
	case TransferWithCharge, TransferSent:
		p.Transfer = TransferReversed
	case TransferPending:
		p.Transfer = TransferCancelled
	}
	p.Version++
	return p, true
}

// createdEvent announces a succeeded payment; orders marks the order complete.
func (p Payment) createdEvent() events.Message {
	return events.PaymentCreatedEvent{ID: p.ID, OrderID: p.OrderID, StripeID: p.StripeID}.Message()
}

// Refund is one request to give a payment's money back. Its idempotency key
// is per order: the paths that may refund one payment make one refund
// between them. A destination charge's refund takes the seller's share and
// the platform's fee back too.
type Refund struct {
	IntentID, OrderID, IdempotencyKey string
	ReverseTransfer                   bool
}

func refundOf(p Payment) Refund {
	return Refund{IntentID: p.StripeID, OrderID: p.OrderID, IdempotencyKey: "refund-" + p.OrderID,
		ReverseTransfer: p.Transfer == TransferWithCharge}
}

// newID returns a random 96-bit id in hex, the size of a MongoDB ObjectId.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
