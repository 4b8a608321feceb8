package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// handleOrderCreated keeps a copy of every new order, to know later who may
// pay for it and how much. The copies of a batch of deliveries are made in one
// transaction; they publish nothing.
func handleOrderCreated(payments *paymentStore) delivery.BatchHandler {
	return delivery.Apply(payments.db, func(e delivery.Event) (store.Change[bool], error) {
		ev, err := delivery.DecodeData[events.OrderCreatedEvent](e)
		if err != nil {
			return store.Change[bool]{}, err // DROP: the payload can never decode
		}
		if ev.ID == "" || ev.UserID == "" {
			return store.Change[bool]{}, delivery.Drop(fmt.Errorf("order:created %s: no order or user id", e.ID))
		}
		// SUCCESS: copied now, or the copy existed (a redelivery; a later
		// cancellation already applied to it stays). RETRY: the store is
		// unavailable.
		return newOrderCopyChange(orderFromCreated(ev)), nil
	})
}

// handleOrderCancelled marks each order's copy cancelled, so the order can no
// longer be paid, applying versions strictly in order: the copies of a batch
// in one transaction.
//
// A payment that succeeded although the order was cancelled (it expired while
// the charge was in flight) is refunded here, before the event is
// acknowledged. The payment is read after the cancellation is committed:
// a charge in flight commits its payment, then reads the copy (see pay), so
// whichever of the two commits second sees the other, and refunds.
func handleOrderCancelled(log *slog.Logger, payments *paymentStore, charges charger) delivery.BatchHandler {
	return func(ctx context.Context, es []delivery.Event) []error {
		errs := make([]error, len(es))
		ids := make([]string, len(es))
		var cs []store.Change[Order]
		var idx []int
		for i, e := range es {
			ev, err := delivery.DecodeData[events.OrderCancelledEvent](e)
			if err == nil && ev.ID == "" {
				err = delivery.Drop(fmt.Errorf("order:cancelled %s: no order id", e.ID))
			}
			if err != nil {
				errs[i] = err // DROP: the payload can never decode
				continue
			}
			ids[i] = ev.ID
			c := cancelledCopyChange(ev.ID, ev.Version).Outcome(func(err error) error {
				if errors.Is(err, ErrOrderNotFound) || errors.Is(err, ErrVersionGap) {
					// RETRY: order:created (or an event in between) has not
					// been applied yet; it will be, and this applies after it.
					return fmt.Errorf("order %s: %w: %w", ev.ID, delivery.ErrOutOfOrder, err)
				}
				return err // RETRY: the store is unavailable
			})
			c.Trace = e.TraceParent
			cs = append(cs, c)
			idx = append(idx, i)
		}
		_, applied := store.ApplyAll(ctx, payments.db, cs)
		for j, err := range applied {
			errs[idx[j]] = err
		}
		// SUCCESS: cancelled now, or already at this version or later (a
		// redelivery), once a payment that got through is refunded (RETRY
		// while Stripe or the store cannot be reached).
		var cancelled []int
		keys := []string{}
		for i := range es {
			if errs[i] == nil && ids[i] != "" {
				cancelled = append(cancelled, i)
				keys = append(keys, paymentKey(ids[i]))
			}
		}
		if len(keys) == 0 {
			return errs
		}
		items, err := payments.db.GetBulk(ctx, keys)
		for j, i := range cancelled {
			switch {
			case err != nil:
				errs[i] = err
			case paidFor(items[j]):
				errs[i] = refundPaid(ctx, log, payments, charges, ids[i])
			}
		}
		return errs
	}
}

// paidFor reports whether it holds a succeeded payment.
func paidFor(it store.Item) bool {
	p, found, err := storedPayment(it)
	return found && err == nil && p.Status == PaymentSucceeded
}
