package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// refundIfCancelled refunds the order's succeeded payment if the order is
// cancelled, and records the refund. It reports whether the order was
// cancelled (and its payment, if any, refunded).
func refundIfCancelled(ctx context.Context, log *slog.Logger, payments *paymentStore, charges charger, orderID string) (bool, error) {
	o, _, err := payments.order(ctx, orderID)
	if err != nil || o.Status != events.OrderStatusCancelled {
		return false, err
	}
	return true, refundPaid(ctx, log, payments, charges, orderID)
}

// refundPaid gives back the money of the order's succeeded payment (nothing
// to do without one) and marks it refunded.
func refundPaid(ctx context.Context, log *slog.Logger, payments *paymentStore, charges charger, orderID string) error {
	return retryOnConflict(func() error {
		cur, err := payments.payment(ctx, orderID)
		if err != nil || !cur.found || cur.p.Status != PaymentSucceeded {
			return err
		}
		if err := charges.refund(ctx, refundOf(cur.p)); err != nil {
			return err
		}
		next, changed := cur.p.refunded("")
		if !changed {
			return nil
		}
		log.WarnContext(ctx, "refunded the payment of a cancelled order", "order", orderID, "charge", cur.p.StripeID)
		return payments.state.Transact(ctx, sidecar.Op{Key: paymentKey(orderID), Value: next, ETag: cur.etag})
	})
}

// refundClaim refunds a charge made under a claim whose order was cancelled
// meanwhile, and records it.
func refundClaim(ctx context.Context, log *slog.Logger, payments *paymentStore, charges charger, claim storedPayment, stripeID string) error {
	p := claim.p
	p.StripeID = stripeID
	if err := charges.refund(ctx, refundOf(p)); err != nil {
		return err
	}
	next, _ := p.refunded(stripeID)
	if err := payments.state.Transact(ctx, sidecar.Op{Key: paymentKey(p.OrderID), Value: next, ETag: claim.etag}); err != nil {
		return fmt.Errorf("record the refund of order %s: %w", p.OrderID, err)
	}
	log.WarnContext(ctx, "refunded a charge made after its order was cancelled", "order", p.OrderID, "charge", stripeID)
	return nil
}
