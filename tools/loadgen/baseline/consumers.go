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

// errVersionGap: a ticket:updated whose previous version has not been applied.
var errVersionGap = errors.New("an earlier ticket update has not arrived")

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
		sub, err := subscribe(ctx, s, name, c.topic, h, func(err error) { b.count(name, err) })
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

// reserveTicket is tickets' order:created handler: read the ticket; in one
// transaction give it to the order (if it is still the version read) with
// ticket:updated in the outbox; publish that and wait for its
// acknowledgement.
func (b *bench) reserveTicket(ctx context.Context, data []byte) error {
	var ev events.OrderCreatedEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("%w: %w", errDrop, err)
	}
	t := events.Ticket{ID: ev.Ticket.ID}
	err := b.db.tickets.QueryRow(ctx, `SELECT title, price, user_id, version, order_id FROM tickets WHERE id = $1`, t.ID).
		Scan(&t.Title, &t.Price, &t.UserID, &t.Version, &t.OrderID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%w: no such ticket", errDrop)
	case err != nil:
		return err
	case t.OrderID == ev.ID:
		return nil // a redelivery: reserved already
	case t.OrderID != "":
		return errReserved // held by an order whose cancellation has not arrived
	}
	read := t.Version
	t.Version, t.OrderID = read+1, ev.ID
	msg := events.TicketUpdatedEvent(t).Message()
	upd, _ := json.Marshal(msg.Data)
	id := msg.ID
	err = pgx.BeginFunc(ctx, b.db.tickets, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tickets SET order_id = $2, version = version + 1 WHERE id = $1 AND version = $3`,
			t.ID, ev.ID, read)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errConflict
		}
		return b.ticketsOut.record(ctx, tx, msg.Topic, id, upd)
	})
	if err != nil {
		return err
	}
	return b.ticketsOut.publish(ctx, msg.Topic, id, upd)
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
// copy if it is the next version, keeping orders' own reservation.
func (b *bench) updateTicketCopy(ctx context.Context, data []byte) error {
	var ev events.Ticket
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("%w: %w", errDrop, err)
	}
	var version int64
	if err := b.db.orders.QueryRow(ctx, `SELECT version FROM tickets WHERE id = $1`, ev.ID).Scan(&version); err != nil {
		return err // no copy yet: retry
	}
	switch {
	case ev.Version <= version:
		return nil // applied already
	case ev.Version != version+1:
		return errVersionGap
	}
	tag, err := b.db.orders.Exec(ctx, `UPDATE tickets SET title = $2, price = $3, version = $4 WHERE id = $1 AND version = $5`,
		ev.ID, ev.Title, ev.Price, ev.Version, version)
	if err == nil && tag.RowsAffected() == 0 {
		err = errConflict
	}
	return err
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
