package baseline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// errDrop marks a message that redelivery cannot fix; it is acknowledged and
// counted, like a handler's DROP in the mesh.
var errDrop = errors.New("dropped")

// errOutOfOrder marks a delivery that came before what it follows: it is
// redelivered, as the mesh's handlers ask (delivery.ErrOutOfOrder), and
// counted apart from the errors.
var errOutOfOrder = errors.New("out of order")

// errVersionGap: a ticket:updated whose previous version has not been applied.
var errVersionGap = fmt.Errorf("%w: an earlier ticket update has not arrived", errOutOfOrder)

// errNoTicket: an order for a ticket tickets does not have.
var errNoTicket = errors.New("no such ticket")

// subscribeAll starts every consumer the workload needs, upstream first: one
// per service and topic, named as the mesh's components are. settle relies
// on that order.
func (b *bench) subscribeAll(ctx context.Context, s jetstream.Stream) ([]*subscription, error) {
	var subs []*subscription
	for _, c := range []struct {
		name  string
		topic events.Topic
		h     handler
	}{
		{"tickets-order-created", events.OrderCreated, b.reserveTicket},
		{"expiration-order-created", events.OrderCreated, b.scheduleExpiry},
		{"orders-ticket-created", events.TicketCreated, b.copyTicket},
		{"orders-ticket-updated", events.TicketUpdated, b.updateTicketCopy},
		{"orders-payment-created", events.PaymentCreated, b.completePaid},
	} {
		name := c.name
		h := func(ctx context.Context, data []byte) error {
			err := c.h(ctx, data)
			if errors.Is(err, errDrop) {
				b.count(name, err)
				return nil
			}
			return err
		}
		sub, err := subscribe(ctx, s, name, c.topic, h, func(err error) {
			if errors.Is(err, errOutOfOrder) {
				b.redelivered.Add(1)
				return
			}
			b.count(name, err)
		})
		if err != nil {
			stopAll(subs)
			return nil, fmt.Errorf("consumer %s: %w", name, err)
		}
		subs = append(subs, sub)
	}
	return subs, nil
}

func stopAll(subs []*subscription) {
	for _, s := range subs {
		s.stop()
	}
}

// reserveTicket is tickets' order:created handler: reserve the ticket for
// the order (a ticket reserved for it already is a redelivery, or orders
// asked first).
func (b *bench) reserveTicket(ctx context.Context, data []byte) error {
	var ev events.OrderCreatedEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("%w: %w", errDrop, err)
	}
	_, err := b.reserve(ctx, ev.Ticket.ID, ev.ID, false)
	if errors.Is(err, errNoTicket) {
		return fmt.Errorf("%w: %w", errDrop, err)
	}
	return err // errReserved: held by an order whose cancellation has not arrived
}

// reserve is tickets giving a ticket to an order: read the ticket; in one
// transaction give it to the order (if it is still the version read) with
// ticket:updated in the outbox, and, when orders asked for it (hold), the
// hold record tickets' sweep keeps until the order's creation arrives;
// publish that and wait for its acknowledgement. A ticket the order holds
// already is answered as it is.
func (b *bench) reserve(ctx context.Context, ticketID, orderID string, hold bool) (events.Ticket, error) {
	t := events.Ticket{ID: ticketID}
	err := b.db.tickets.QueryRow(ctx, `SELECT title, price, user_id, version, order_id FROM tickets WHERE id = $1`, t.ID).
		Scan(&t.Title, &t.Price, &t.UserID, &t.Version, &t.OrderID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return t, errNoTicket
	case err != nil:
		return t, err
	case t.OrderID == orderID && !hold:
		// Reserved already: orders asked first (the order's creation
		// confirms the reservation, its hold record goes), or a redelivery.
		_, err := b.db.tickets.Exec(ctx, `DELETE FROM holds WHERE ticket_id = $1 AND order_id = $2`, t.ID, orderID)
		return t, err
	case t.OrderID == orderID:
		return t, nil // reserved already
	case t.OrderID != "":
		return t, errReserved
	}
	read := t.Version
	t.Version, t.OrderID = read+1, orderID
	msg := events.TicketUpdatedEvent(t).Message()
	upd, _ := json.Marshal(msg.Data)
	id := msg.ID
	err = pgx.BeginFunc(ctx, b.db.tickets, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tickets SET order_id = $2, version = version + 1 WHERE id = $1 AND version = $3`,
			t.ID, orderID, read)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errConflict
		}
		if hold {
			if _, err := tx.Exec(ctx, `INSERT INTO holds (ticket_id, order_id, since) VALUES ($1, $2, now())
				ON CONFLICT (ticket_id) DO UPDATE SET order_id = $2, since = now()`, t.ID, orderID); err != nil {
				return err
			}
		}
		return b.ticketsOut.record(ctx, tx, msg.Topic, id, upd)
	})
	if err != nil {
		return t, err
	}
	return t, b.ticketsOut.publish(ctx, msg.Topic, id, upd)
}

// copyTicket is orders' ticket:created handler: create its copy, never
// overwriting one.
func (b *bench) copyTicket(ctx context.Context, data []byte) error {
	var ev events.Ticket
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("%w: %w", errDrop, err)
	}
	_, err := b.db.orders.Exec(ctx, `INSERT INTO tickets (id, title, price, version) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, ev.ID, ev.Title, ev.Price, ev.Version)
	return err
}

// updateTicketCopy is orders' ticket:updated handler: apply the update to its
// copy if it is the next version, keeping orders' own reservation. A copy
// that moved between the read and the write is read again and the update
// decided anew, as the mesh's store does on an ETag mismatch; an update
// that came before the copy's creation (a ticket ordered at once: tickets
// publishes the reservation before orders commits the order) is redelivered.
func (b *bench) updateTicketCopy(ctx context.Context, data []byte) error {
	var ev events.Ticket
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("%w: %w", errDrop, err)
	}
	for range 10 {
		var version int64
		err := b.db.orders.QueryRow(ctx, `SELECT version FROM tickets WHERE id = $1`, ev.ID).Scan(&version)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("%w: no copy of ticket %s yet", errOutOfOrder, ev.ID)
		case err != nil:
			return err
		case ev.Version <= version:
			return nil // applied already
		case ev.Version != version+1:
			return errVersionGap
		}
		tag, err := b.db.orders.Exec(ctx, `UPDATE tickets SET title = $2, price = $3, version = $4 WHERE id = $1 AND version = $5`,
			ev.ID, ev.Title, ev.Price, ev.Version, version)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
	}
	return errConflict
}

// scheduleExpiry is expiration's order:created handler: remember when the
// order expires. No timer fires within a run.
func (b *bench) scheduleExpiry(ctx context.Context, data []byte) error {
	var ev events.OrderCreatedEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("%w: %w", errDrop, err)
	}
	_, err := b.db.expiration.Exec(ctx, `INSERT INTO schedule (order_id, expires_at) VALUES ($1, $2)
		ON CONFLICT (order_id) DO NOTHING`, ev.ID, ev.ExpiresAt)
	return err
}

// completePaid is orders' payment:created handler: mark the order complete,
// unless it is already (payments told orders first, as it does on the
// request's path).
func (b *bench) completePaid(ctx context.Context, data []byte) error {
	var ev events.PaymentCreatedEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("%w: %w", errDrop, err)
	}
	err := b.complete(ctx, ev.OrderID)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: payment for an unknown order %s", errDrop, ev.OrderID)
	}
	return err
}
