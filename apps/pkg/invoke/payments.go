package invoke

import "context"

// Payments' internal API: orders asks it to settle a payment whose order
// must end (its time is up, or its buyer cancels) while payments held it.
const (
	PaymentsApp = "payments"
	// SettlePath: POST, nothing -> Settlement.
	SettlePath = "/internal/payments/{id}/settle"
)

// Settlement is how a payment ended, as far as money goes.
type Settlement struct {
	// Outcome is Succeeded (the order is paid), Failed (no money was
	// taken, and none will be for this order's payment so far) or Pending
	// (still under way: ask again later).
	Outcome string `json:"outcome"`
}

// The outcomes of Settle.
const (
	Succeeded = "succeeded"
	Failed    = "failed"
	Pending   = "pending"
)

// Settle asks payments how the payment of orderID ends.
func (c *Client) Settle(ctx context.Context, orderID string) (string, error) {
	var s Settlement
	err := c.call(ctx, PaymentsApp, path(SettlePath, orderID), struct{}{}, &s)
	return s.Outcome, err
}
