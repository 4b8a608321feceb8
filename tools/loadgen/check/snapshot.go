// Package check reads what every service holds after a run and judges it
// against the marketplace's promises: no ticket held twice, no order charged
// twice, every expired order released, every service agreeing with the
// others, no event lost. It is shared by the load generator and the fault
// run, and each invariant is shown to fail on a doctored snapshot in its tests.
package check

import (
	"time"
)

// OrderView is an order as the orders service shows it to its buyer.
type OrderView struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expiresAt"`
	Version   int64     `json:"version"`
	Ticket    struct {
		ID      string  `json:"id"`
		Price   float64 `json:"price"`
		Version int64   `json:"version"`
	} `json:"ticket"`
}

// TicketView is a ticket as the tickets service shows it.
type TicketView struct {
	ID      string  `json:"id"`
	OrderID string  `json:"orderId"`
	Version int64   `json:"version"`
	Price   float64 `json:"price"`
}

// PaymentView is the payment payments holds for one order ("" status: none).
type PaymentView struct {
	PaymentStatus string // "", pending, requires_action, processing, succeeded, refunded, abandoned
	StripeID      string
	Amount        int64  // cents
	Fee           int64  // the platform's fee, cents
	SellerID      string // whose ticket it paid for
	// Transfer is where the seller's share stands: destination (it went
	// with the charge), pending, sent, reversed, cancelled.
	Transfer string
}

// Charge is money Stripe took for an order (a PaymentIntent that
// succeeded), or gave back (a refund), as the Stripe recorder in front of
// stripe-mock counted it at the edge.
type Charge struct {
	OrderID  string
	IntentID string
	Amount   int64 // cents
	Refund   bool  // a refund of the order's payment, not a payment
	// Destination and Fee: a destination charge's connected account, which
	// got Amount - Fee with the charge; ReverseTransfer: a refund that took
	// that share (and the fee) back.
	Destination     string
	Fee             int64
	ReverseTransfer bool
}

// Transfer is money the platform sent a seller's connected account for an
// order after its charge, or (Reversal) took back, as the recorder counted it.
type Transfer struct {
	OrderID     string
	Destination string
	Amount      int64 // cents
	Reversal    bool
}

// Deliveries are the events published to the broker and the deliveries each
// subscriber handled, by event id.
type Deliveries struct {
	Published   map[string][]string                  // topic -> event ids on the stream
	Subscribers map[string][]string                  // topic -> subscribing apps
	Handled     map[string]map[string]map[string]int // app -> topic -> event id -> times handled
}

// Snapshot is every service's state as read at one moment.
type Snapshot struct {
	At       time.Time
	Orders   map[string]OrderView   // by order id: every buyer's orders
	Tickets  map[string]TicketView  // by ticket id: every ticket the crowd listed
	Payments map[string]PaymentView // by order id; nil when payments was not read
	// Charges and Transfers are nil when the Stripe calls were not counted.
	Charges   []Charge
	Transfers []Transfer
	// Deliveries is nil when deliveries were not counted.
	Deliveries *Deliveries
}
