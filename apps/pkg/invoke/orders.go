package invoke

import (
	"context"
	"time"
)

// Orders' internal API: payments asks it to hold an order for payment and
// tells it the outcome; tickets asks it about a reservation whose order it
// never heard of.
const (
	OrdersApp = "orders"
	// PayPath holds an order for a payment (status awaiting:payment): POST,
	// PayRequest -> Payable. 404 unknown, 401 someone else's, 400 cancelled
	// or already paid.
	PayPath = "/internal/orders/{id}/pay"
	// PaidPath completes an order: POST, PaidRequest -> nothing. 409 if the
	// order was cancelled (the money must go back).
	PaidPath = "/internal/orders/{id}/paid"
	// UnpaidPath ends a payment that took no money: the order is payable
	// again, or cancelled if its time is up. POST, nothing -> nothing.
	UnpaidPath = "/internal/orders/{id}/unpaid"
	// AbandonPath asks about an order tickets holds a ticket for: if orders
	// never made it, it never will (Abandoned); otherwise its status.
	AbandonPath = "/internal/orders/{id}/abandon"
)

// PayRequest says who pays.
type PayRequest struct {
	UserID string `json:"userId"`
}

// Payable is an order held for its payment: what to charge, and for whom.
type Payable struct {
	ID        string    `json:"id"`
	UserID    string    `json:"userId"`
	Status    string    `json:"status"`
	Price     float64   `json:"price"`
	TicketID  string    `json:"ticketId"`
	SellerID  string    `json:"sellerId,omitempty"`
	ExpiresAt time.Time `json:"expiresAt"`
	Version   int64     `json:"version"`
	// TraceParent is the purchase's trace (the order request's), which the
	// payment continues: one trace per purchase.
	TraceParent string `json:"traceparent,omitempty"`
}

// PaidRequest names the payment that completed an order.
type PaidRequest struct {
	PaymentID string `json:"paymentId"`
	StripeID  string `json:"stripeId"`
}

// OrderStatus is an order's status as orders answers AbandonPath.
type OrderStatus struct {
	Status string `json:"status"`
}

// Abandoned is AbandonPath's status for an order that will never exist.
const Abandoned = "abandoned"

// Pay asks orders to hold orderID for userID's payment.
func (c *Client) Pay(ctx context.Context, orderID, userID string) (Payable, error) {
	var p Payable
	err := c.call(ctx, OrdersApp, path(PayPath, orderID), PayRequest{UserID: userID}, &p)
	return p, err
}

// Paid tells orders that orderID is paid.
func (c *Client) Paid(ctx context.Context, orderID string, r PaidRequest) error {
	return c.call(ctx, OrdersApp, path(PaidPath, orderID), r, nil)
}

// Unpaid tells orders that orderID's payment took no money.
func (c *Client) Unpaid(ctx context.Context, orderID string) error {
	return c.call(ctx, OrdersApp, path(UnpaidPath, orderID), struct{}{}, nil)
}

// Abandon asks orders about an order it may never have made.
func (c *Client) Abandon(ctx context.Context, orderID string) (string, error) {
	var s OrderStatus
	err := c.call(ctx, OrdersApp, path(AbandonPath, orderID), struct{}{}, &s)
	return s.Status, err
}
