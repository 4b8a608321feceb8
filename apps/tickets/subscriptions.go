package main

import (
	"errors"
	"fmt"

	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// handleOrderCreated reserves each order's ticket and announces it with
// ticket:updated (carrying the orderId). A batch of deliveries shares one
// read, one transaction and one publish.
func handleOrderCreated(tickets *ticketStore) delivery.BatchHandler {
	return delivery.Apply(tickets.db, func(e delivery.Event) (store.Change[Ticket], error) {
		ev, err := delivery.DecodeData[events.OrderCreatedEvent](e)
		if err != nil {
			return store.Change[Ticket]{}, err // DROP: the payload can never decode
		}
		if ev.ID == "" || ev.Ticket.ID == "" {
			return store.Change[Ticket]{}, delivery.Drop(fmt.Errorf("order:created %s: no order or ticket id", e.ID))
		}
		// SUCCESS (no error): reserved now; or already reserved by this order
		// (a redelivery); or the order was cancelled before its creation
		// reached us, and must not lock the ticket.
		return reserve(ev.Ticket.ID, ev.ID).Outcome(func(err error) error {
			switch {
			case errors.Is(err, ErrTicketNotFound):
				// DROP: tickets is the source of truth, and an order cannot
				// hold a ticket that was never listed. Redelivery cannot make
				// it appear.
				return delivery.Drop(fmt.Errorf("order %s: %w", ev.ID, err))
			case errors.Is(err, ErrHeldByAnotherOrder):
				// RETRY: the previous order's order:cancelled has not arrived
				// yet (orders only takes a ticket it has seen freed); it will.
				return fmt.Errorf("order %s: %w: %w", ev.ID, delivery.ErrOutOfOrder, err)
			default:
				return err // RETRY: a payload the ticket cannot take yet
			}
		}), nil
	})
}

// handleOrderCancelled frees each order's ticket if the order holds it, and
// remembers the cancellation in every case (see release).
func handleOrderCancelled(tickets *ticketStore) delivery.BatchHandler {
	return delivery.Apply(tickets.db, func(e delivery.Event) (store.Change[Ticket], error) {
		ev, err := delivery.DecodeData[events.OrderCancelledEvent](e)
		if err != nil {
			return store.Change[Ticket]{}, err // DROP: the payload can never decode
		}
		if ev.ID == "" || ev.Ticket.ID == "" {
			return store.Change[Ticket]{}, delivery.Drop(fmt.Errorf("order:cancelled %s: no order or ticket id", e.ID))
		}
		// SUCCESS (no error): freed now, or the ticket was never (or is no
		// longer) this order's; either way the tombstone keeps it from being
		// reserved by this order later. Redeliveries land here too.
		return release(ev.Ticket.ID, ev.ID).Outcome(func(err error) error {
			if errors.Is(err, ErrTicketNotFound) {
				// DROP: no such ticket was ever listed, so there is nothing to
				// free and nothing an order:created could lock.
				return delivery.Drop(fmt.Errorf("order %s: %w", ev.ID, err))
			}
			return err
		}), nil
	})
}
