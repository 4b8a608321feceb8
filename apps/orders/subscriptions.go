package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// Each handler turns every delivery of a batch into the Change it asks for;
// the batch shares one read, one transaction and one publish (see
// sidecar.Changes), and each delivery's outcome is decided below.

// handleTicketCreated makes orders' copy of each newly listed ticket.
func handleTicketCreated(orders *orderStore) sidecar.BatchHandler {
	return sidecar.Changes(orders.outbox, func(e sidecar.Event) (sidecar.Change, error) {
		ev, err := sidecar.DecodeData[events.TicketCreatedEvent](e)
		if err != nil {
			return sidecar.Change{}, err // DROP: the payload can never decode
		}
		if ev.ID == "" {
			return sidecar.Change{}, sidecar.Drop(fmt.Errorf("ticket:created %s: no ticket id", e.ID))
		}
		// SUCCESS: the copy is made, or it existed already (a redelivery, or
		// the copy has moved on since); creation never overwrites. RETRY: the
		// store is unavailable.
		return addTicket(ticketFromEvent(ev)), nil
	})
}

// handleTicketUpdated applies each ticket's changes to orders' copy, one
// version at a time.
func handleTicketUpdated(orders *orderStore) sidecar.BatchHandler {
	return sidecar.Changes(orders.outbox, func(e sidecar.Event) (sidecar.Change, error) {
		ev, err := sidecar.DecodeData[events.TicketUpdatedEvent](e)
		if err != nil {
			return sidecar.Change{}, err // DROP: the payload can never decode
		}
		if ev.ID == "" {
			return sidecar.Change{}, sidecar.Drop(fmt.Errorf("ticket:updated %s: no ticket id", e.ID))
		}
		// SUCCESS: applied, or a version the copy already has (a redelivery).
		return updateTicket(ev).Outcome(func(err error) error {
			switch {
			case errors.Is(err, ErrNotFound):
				// RETRY: the ticket:created it follows has not arrived yet.
				return fmt.Errorf("ticket %s: %w: no copy yet", ev.ID, sidecar.ErrOutOfOrder)
			case errors.Is(err, ErrVersionGap):
				// RETRY: an earlier update has not arrived yet.
				return fmt.Errorf("%w: %w", sidecar.ErrOutOfOrder, err)
			default:
				return err // RETRY
			}
		}), nil
	})
}

// handleExpirationComplete cancels each order whose time is up, exactly as its
// buyer's DELETE would, unless it was paid.
func handleExpirationComplete(orders *orderStore) sidecar.BatchHandler {
	return sidecar.Changes(orders.outbox, func(e sidecar.Event) (sidecar.Change, error) {
		ev, err := sidecar.DecodeData[events.ExpirationCompleteEvent](e)
		if err != nil {
			return sidecar.Change{}, err // DROP: the payload can never decode
		}
		// SUCCESS: cancelled, ticket freed, order:cancelled published.
		return cancel(ev.OrderID, nil, nil).Outcome(func(err error) error {
			switch {
			case errors.Is(err, ErrOrderComplete), errors.Is(err, ErrAlreadyCancelled):
				// SUCCESS: a paid order is never cancelled; a cancelled one (by
				// its buyer, or a redelivery) has nothing left to do.
				return nil
			case errors.Is(err, ErrNotFound):
				// DROP: orders made every order expiration knows of; an unknown
				// one will never appear.
				return sidecar.Drop(fmt.Errorf("expiration of order %q: %w", ev.OrderID, err))
			default:
				return err // RETRY
			}
		}), nil
	})
}

// handlePaymentCreated marks each paid order complete.
func handlePaymentCreated(log *slog.Logger, orders *orderStore) sidecar.BatchHandler {
	return sidecar.Changes(orders.outbox, func(e sidecar.Event) (sidecar.Change, error) {
		ev, err := sidecar.DecodeData[events.PaymentCreatedEvent](e)
		if err != nil {
			return sidecar.Change{}, err // DROP: the payload can never decode
		}
		// SUCCESS: complete now.
		return complete(ev.OrderID).Outcome(func(err error) error {
			switch {
			case errors.Is(err, ErrAlreadyComplete):
				return nil // SUCCESS: a redelivery
			case errors.Is(err, ErrOrderCancelled):
				// SUCCESS, loudly: the order was cancelled (expired) before the
				// charge landed. payments refunds it when it applies this
				// order:cancelled; redelivery would not change anything here.
				log.Warn("payment for a cancelled order: payments refunds it",
					"order", ev.OrderID, "payment", ev.ID, "stripe_id", ev.StripeID)
				return nil
			case errors.Is(err, ErrNotFound):
				// DROP: payments only charges orders it heard of from us; an
				// unknown one will never appear.
				return sidecar.Drop(fmt.Errorf("payment %s for order %q: %w", ev.ID, ev.OrderID, err))
			default:
				return err // RETRY
			}
		}), nil
	})
}
