package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// Each handler turns every delivery of a batch into the Change it asks for;
// the batch is applied together (see delivery.Apply), and each delivery's
// outcome is decided below.

// handleTicketCreated makes orders' copy of each newly listed ticket.
func handleTicketCreated(orders *orderStore) delivery.BatchHandler {
	return delivery.Apply(orders.db, func(e delivery.Event) (store.Change[Ticket], error) {
		ev, err := delivery.DecodeData[events.TicketCreatedEvent](e)
		if err != nil {
			return store.Change[Ticket]{}, err // DROP: the payload can never decode
		}
		if ev.ID == "" {
			return store.Change[Ticket]{}, delivery.Drop(fmt.Errorf("ticket:created %s: no ticket id", e.ID))
		}
		// SUCCESS: the copy is made, or it existed already (a redelivery, or
		// the copy has moved on since); creation never overwrites. RETRY: the
		// store is unavailable.
		return addTicketChange(ticketFromEvent(ev)), nil
	})
}

// handleTicketUpdated applies each ticket's changes to orders' copy, one
// version at a time.
func handleTicketUpdated(orders *orderStore) delivery.BatchHandler {
	return delivery.Apply(orders.db, func(e delivery.Event) (store.Change[Ticket], error) {
		ev, err := delivery.DecodeData[events.TicketUpdatedEvent](e)
		if err != nil {
			return store.Change[Ticket]{}, err // DROP: the payload can never decode
		}
		if ev.ID == "" {
			return store.Change[Ticket]{}, delivery.Drop(fmt.Errorf("ticket:updated %s: no ticket id", e.ID))
		}
		// SUCCESS: applied, or a version the copy already has (a redelivery).
		return updateTicketChange(ev).Outcome(func(err error) error {
			switch {
			case errors.Is(err, ErrNotFound):
				// RETRY: the ticket:created it follows has not arrived yet.
				return fmt.Errorf("ticket %s: %w: no copy yet", ev.ID, delivery.ErrOutOfOrder)
			case errors.Is(err, ErrVersionGap):
				// RETRY: an earlier update has not arrived yet.
				return fmt.Errorf("%w: %w", delivery.ErrOutOfOrder, err)
			default:
				return err // RETRY
			}
		}), nil
	})
}

// handleExpirationComplete cancels each order whose time is up, exactly as its
// buyer's DELETE would, unless it was paid; an order awaiting a payment waits
// for the payment's outcome.
func handleExpirationComplete(orders *orderStore) delivery.BatchHandler {
	return func(ctx context.Context, es []delivery.Event) []error {
		now := time.Now()
		errs := delivery.Apply(orders.db, func(e delivery.Event) (store.Change[Order], error) {
			ev, err := delivery.DecodeData[events.ExpirationCompleteEvent](e)
			if err != nil {
				return store.Change[Order]{}, err // DROP: the payload can never decode
			}
			return cancelChange(ev.OrderID, nil, now, false), nil
		})(ctx, es)
		ids := make([]string, len(es))
		for i, e := range es {
			if ev, err := delivery.DecodeData[events.ExpirationCompleteEvent](e); err == nil {
				ids[i] = ev.OrderID
			}
		}
		for i, err := range errs {
			if delivery.IsDrop(err) {
				continue
			}
			if errors.Is(err, errSettleFirst) {
				// The payment's time is up: payments says how it ended.
				_, err = orders.settleThenCancel(ctx, ids[i], nil, now)
			}
			errs[i] = expiryOutcome(ids[i], err)
		}
		return errs
	}
}

// expiryOutcome is what an expiration:complete's outcome is for the broker.
func expiryOutcome(orderID string, err error) error {
	switch {
	case err == nil, errors.Is(err, ErrOrderComplete), errors.Is(err, ErrAlreadyCancelled):
		// SUCCESS: cancelled, ticket freed, order:cancelled published; or a
		// paid order (never cancelled); or a cancelled one (by its buyer, or a
		// redelivery), with nothing left to do.
		return nil
	case errors.Is(err, ErrNotFound):
		// DROP: orders made every order expiration knows of; an unknown one
		// will never appear.
		return delivery.Drop(fmt.Errorf("expiration of order %q: %w", orderID, err))
	case errors.Is(err, ErrPaymentInProgress):
		// RETRY: a payment is in flight; the order waits for its outcome.
		return fmt.Errorf("expiration of order %q: %w", orderID, err)
	default:
		return err // RETRY: the store, or payments, is unavailable
	}
}

// handlePaymentCreated marks each paid order complete.
func handlePaymentCreated(log *slog.Logger, orders *orderStore) delivery.BatchHandler {
	return delivery.Apply(orders.db, func(e delivery.Event) (store.Change[Order], error) {
		ev, err := delivery.DecodeData[events.PaymentCreatedEvent](e)
		if err != nil {
			return store.Change[Order]{}, err // DROP: the payload can never decode
		}
		// SUCCESS: complete now.
		return completeChange(ev.OrderID).Outcome(func(err error) error {
			switch {
			case errors.Is(err, ErrAlreadyComplete):
				return nil // SUCCESS: a redelivery
			case errors.Is(err, ErrOrderCancelled):
				// SUCCESS, loudly: the order was cancelled before the charge
				// was recorded (only a payment that outlived its settlement
				// can be: see settleThenCancel). payments refunds it: orders
				// refused its paid call; redelivery would change nothing here.
				log.Warn("payment for a cancelled order: payments refunds it",
					"order", ev.OrderID, "payment", ev.ID, "stripe_id", ev.StripeID)
				return nil
			case errors.Is(err, ErrNotFound):
				// DROP: payments only charges orders it heard of from us; an
				// unknown one will never appear.
				return delivery.Drop(fmt.Errorf("payment %s for order %q: %w", ev.ID, ev.OrderID, err))
			default:
				return err // RETRY
			}
		}), nil
	})
}
