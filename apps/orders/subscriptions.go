package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// handleTicketCreated makes orders' copy of a newly listed ticket.
func handleTicketCreated(orders *orderStore) sidecar.EventHandler {
	return func(ctx context.Context, e sidecar.Event) error {
		ev, err := sidecar.DecodeData[events.TicketCreatedEvent](e)
		if err != nil {
			return err // DROP: the payload can never decode
		}
		if ev.ID == "" {
			return sidecar.Drop(fmt.Errorf("ticket:created %s: no ticket id", e.ID))
		}
		if _, err := orders.addTicket(ctx, ticketFromEvent(ev)); err != nil {
			return err // RETRY: the store is unavailable
		}
		// SUCCESS: the copy is made, or it existed already (a redelivery, or
		// the copy has moved on since); creation never overwrites.
		return nil
	}
}

// handleTicketUpdated applies a ticket's changes to orders' copy, one version
// at a time.
func handleTicketUpdated(orders *orderStore) sidecar.EventHandler {
	return func(ctx context.Context, e sidecar.Event) error {
		ev, err := sidecar.DecodeData[events.TicketUpdatedEvent](e)
		if err != nil {
			return err // DROP: the payload can never decode
		}
		if ev.ID == "" {
			return sidecar.Drop(fmt.Errorf("ticket:updated %s: no ticket id", e.ID))
		}
		err = orders.updateTicket(ctx, ev)
		switch {
		case err == nil:
			// SUCCESS: applied, or a version the copy already has (a redelivery).
			return nil
		case errors.Is(err, ErrNotFound):
			// RETRY: the ticket:created it follows has not arrived yet.
			return fmt.Errorf("ticket %s: %w: no copy yet", ev.ID, sidecar.ErrOutOfOrder)
		case errors.Is(err, ErrVersionGap):
			// RETRY: an earlier update has not arrived yet.
			return fmt.Errorf("%w: %w", sidecar.ErrOutOfOrder, err)
		default:
			// RETRY: the store is unavailable, or other writes kept winning.
			return err
		}
	}
}

// handleExpirationComplete cancels an order whose time is up, exactly as its
// buyer's DELETE would, unless it was paid.
func handleExpirationComplete(orders *orderStore) sidecar.EventHandler {
	return func(ctx context.Context, e sidecar.Event) error {
		ev, err := sidecar.DecodeData[events.ExpirationCompleteEvent](e)
		if err != nil {
			return err // DROP: the payload can never decode
		}
		_, err = orders.cancel(ctx, ev.OrderID, nil)
		switch {
		case err == nil:
			// SUCCESS: cancelled, ticket freed, order:cancelled published.
			return nil
		case errors.Is(err, ErrOrderComplete), errors.Is(err, ErrAlreadyCancelled):
			// SUCCESS: a paid order is never cancelled; a cancelled one (by its
			// buyer, or a redelivery) has nothing left to do.
			return nil
		case errors.Is(err, ErrNotFound):
			// DROP: orders made every order expiration knows of; an unknown one
			// will never appear.
			return sidecar.Drop(fmt.Errorf("expiration of order %q: %w", ev.OrderID, err))
		default:
			// RETRY: the store is unavailable, or other writes kept winning.
			return err
		}
	}
}

// handlePaymentCreated marks a paid order complete.
func handlePaymentCreated(log *slog.Logger, orders *orderStore) sidecar.EventHandler {
	return func(ctx context.Context, e sidecar.Event) error {
		ev, err := sidecar.DecodeData[events.PaymentCreatedEvent](e)
		if err != nil {
			return err // DROP: the payload can never decode
		}
		_, err = orders.complete(ctx, ev.OrderID)
		switch {
		case err == nil, errors.Is(err, ErrAlreadyComplete):
			// SUCCESS: complete now, or already (a redelivery).
			return nil
		case errors.Is(err, ErrOrderCancelled):
			// SUCCESS, loudly: the order was cancelled (expired) before the
			// charge landed. payments refunds it when it applies this
			// order:cancelled; redelivery would not change anything here.
			log.WarnContext(ctx, "payment for a cancelled order: payments refunds it",
				"order", ev.OrderID, "payment", ev.ID, "stripe_id", ev.StripeID)
			return nil
		case errors.Is(err, ErrNotFound):
			// DROP: payments only charges orders it heard of from us; an
			// unknown one will never appear.
			return sidecar.Drop(fmt.Errorf("payment %s for order %q: %w", ev.ID, ev.OrderID, err))
		default:
			// RETRY: the store is unavailable, or other writes kept winning.
			return err
		}
	}
}
