package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/invoke"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// The hold sweep. orders reserves a ticket (reserveFor) before it commits the
// order; if it dies in between, or its commit fails, the ticket is held for
// an order that does not exist, and no order:created will ever confirm it.
// Every interval, the sweep asks orders about each hold older than grace:
// an order orders never made is abandoned there for good (it can never be
// made later), and its ticket released here; an order that exists confirms
// its hold.
func sweepHoldsEvery(ctx context.Context, log *slog.Logger, tickets *ticketStore, orders *invoke.Client, interval, grace time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			sweepHolds(ctx, log, tickets, orders, time.Now().Add(-grace))
		}
	}
}

// holdsQuery finds the holds (the index of migrations/0001_record_kinds
// serves it).
const holdsQuery = `{"filter":{"EQ":{"kind":"` + holdKind + `"}},"page":{"limit":200}}`

// sweepHolds settles the holds made before cutoff and returns how many.
func sweepHolds(ctx context.Context, log *slog.Logger, tickets *ticketStore, orders *invoke.Client, cutoff time.Time) int {
	items, _, err := tickets.db.Query(ctx, holdsQuery)
	if err != nil {
		log.WarnContext(ctx, "hold sweep: could not list the holds", "err", err)
		return 0
	}
	n := 0
	for _, it := range items {
		var h hold
		if it.Decode(&h) != nil || h.Kind != holdKind || h.OrderID == "" || h.Since.After(cutoff) {
			continue
		}
		status, err := orders.Abandon(ctx, h.OrderID)
		if err != nil {
			log.WarnContext(ctx, "hold sweep: orders did not answer", "order", h.OrderID, "err", err)
			continue
		}
		c := confirmHold(h.TicketID, h.OrderID)
		if status == invoke.Abandoned {
			c = release(h.TicketID, h.OrderID)
			log.WarnContext(ctx, "hold sweep: released a ticket held for an order that was never made", "ticket", h.TicketID, "order", h.OrderID)
		}
		if _, err := store.Apply(ctx, tickets.db, c); err != nil {
			log.WarnContext(ctx, "hold sweep: not settled yet", "ticket", h.TicketID, "order", h.OrderID, "err", err)
			continue
		}
		n++
	}
	return n
}

// confirmHold is the Change that forgets the hold of an order that exists.
func confirmHold(ticketID, orderID string) store.Change[Ticket] {
	return store.Change[Ticket]{
		Keys: []string{ticketKey(ticketID), holdKey(ticketID)},
		Decide: func(r store.Read) (Ticket, store.Effect, error) {
			t, _ := storedTicket(r.Item(ticketKey(ticketID)))
			if h, ok := heldFor(r.Item(holdKey(ticketID)), orderID); ok {
				return t, store.Effect{Ops: []store.Op{store.Delete(h)}}, nil
			}
			return t, store.Effect{}, nil
		},
	}
}
