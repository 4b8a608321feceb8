package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// refundIfCancelled refunds the order's succeeded payment if the order is
// cancelled, and records the refund. It reports whether the order was
// cancelled (and its payment, if any, refunded).
func refundIfCancelled(ctx context.Context, log *slog.Logger, payments *paymentStore, charges charger, orderID string) (bool, error) {
	o, err := payments.order(ctx, orderID)
	if err != nil || o.Status != events.OrderStatusCancelled {
		return false, err
	}
	return true, refundPaid(ctx, log, payments, charges, orderID)
}

// refundPaid gives back the money of the order's succeeded payment (nothing
// to do without one) and marks it refunded. The refund's idempotency key is
// per order, so doing this twice refunds once.
func refundPaid(ctx context.Context, log *slog.Logger, payments *paymentStore, charges charger, orderID string) error {
	p, found, err := payments.payment(ctx, orderID)
	if err != nil || !found || p.Status != PaymentSucceeded {
		return err
	}
	if err := charges.refund(ctx, refundOf(p)); err != nil {
		return err
	}
	if _, err := payments.markRefunded(ctx, orderID, nil, ""); err != nil {
		return fmt.Errorf("record the refund of order %s: %w", orderID, err)
	}
	log.WarnContext(ctx, "refunded the payment of a cancelled order", "order", orderID, "charge", p.StripeID)
	return nil
}

// refundClaim refunds a charge made under a claim whose order was cancelled
// meanwhile, and records it.
func refundClaim(ctx context.Context, log *slog.Logger, payments *paymentStore, charges charger, claim Payment, stripeID string) error {
	p := claim
	p.StripeID = stripeID
	if err := charges.refund(ctx, refundOf(p)); err != nil {
		return err
	}
	if _, err := payments.markRefunded(ctx, p.OrderID, &claim, stripeID); err != nil {
		return fmt.Errorf("record the refund of order %s: %w", p.OrderID, err)
	}
	log.WarnContext(ctx, "refunded a charge made after its order was cancelled", "order", p.OrderID, "charge", stripeID)
	return nil
}
