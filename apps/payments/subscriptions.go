package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// handleOrderCreated keeps a copy of every new order, to know later who may
// pay for it and how much. The copies of a batch of deliveries are made in one
// transaction; they publish nothing.
func handleOrderCreated(payments *paymentStore) sidecar.BatchHandler {
	return sidecar.Changes(payments.outbox, func(e sidecar.Event) (sidecar.Change, error) {
		ev, err := sidecar.DecodeData[events.OrderCreatedEvent](e)
		if err != nil {
			return sidecar.Change{}, err // DROP: the payload can never decode
		}
		if ev.ID == "" || ev.UserID == "" {
			return sidecar.Change{}, sidecar.Drop(fmt.Errorf("order:created %s: no order or user id", e.ID))
		}
		// SUCCESS: copied now, or the copy existed (a redelivery; a later
		// cancellation already applied to it stays). RETRY: the store is
		// unavailable.
		return newOrderCopy(orderFromCreated(ev), nil), nil
	})
}

// handleOrderCancelled marks the copy cancelled, so the order can no longer be
// paid, applying versions strictly in order.
//
// A payment that succeeded although the order was cancelled (it expired while
// the charge was in flight) is refunded here, before the event is
// acknowledged.
func handleOrderCancelled(log *slog.Logger, payments *paymentStore, charges charger) sidecar.EventHandler {
	return func(ctx context.Context, e sidecar.Event) error {
		ev, err := sidecar.DecodeData[events.OrderCancelledEvent](e)
		if err != nil {
			return err // DROP: the payload can never decode
		}
		if ev.ID == "" {
			return sidecar.Drop(fmt.Errorf("order:cancelled %s: no order id", e.ID))
		}
		err = payments.cancelOrder(ctx, ev.ID, ev.Version)
		switch {
		case err == nil:
			// SUCCESS: cancelled now, or already at this version or later (a
			// redelivery), once a payment that got through is refunded
			// (RETRY while Stripe or the store cannot be reached).
			return refundPaid(ctx, log, payments, charges, ev.ID)
		case errors.Is(err, ErrOrderNotFound), errors.Is(err, ErrVersionGap):
			// RETRY: order:created (or an event in between) has not been
			// applied yet; it will be, and this applies after it.
			return fmt.Errorf("order %s: %w: %w", ev.ID, sidecar.ErrOutOfOrder, err)
		default:
			// RETRY: the store is unavailable, or other writes kept winning.
			return err
		}
	}
}
