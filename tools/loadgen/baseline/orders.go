package baseline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// expirationWindow is how long an order holds its ticket unpaid (the orders
// service's default ORDER_EXPIRATION_WINDOW).
const expirationWindow = 15 * time.Minute

var (
	errReserved = errors.New("ticket is already reserved")
	errConflict = errors.New("version conflict")
)

// list lists n tickets as the tickets service does, a row each and a
// ticket:created that orders copies, and waits until orders has every copy.
// Listing is setup, not measured, so the rows go in one COPY and the events
// are published asynchronously, a thousand acknowledgements at a time.
func (b *bench) list(ctx context.Context, n int) ([]string, error) {
	seller := newID()
	ids := make([]string, n)
	rows := make([][]any, n)
	for i := range ids {
		ids[i] = newID()
		rows[i] = []any{ids[i], fmt.Sprintf("Load test %d", i), 10.0, seller, int64(0)}
	}
	cols := []string{"id", "title", "price", "user_id", "version"}
	if _, err := b.db.tickets.CopyFrom(ctx, pgx.Identifier{"tickets"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("listing: %w", err)
	}
	for i := 0; i < n; i += 1000 {
		for _, r := range rows[i:min(i+1000, n)] {
			msg := events.TicketCreatedEvent{ID: r[0].(string), Title: r[1].(string), Price: r[2].(float64), UserID: seller}.Message()
			data, _ := json.Marshal(msg.Data)
			if _, err := b.js.PublishAsync(subject(msg.Topic), data, jetstream.WithMsgID(msg.ID)); err != nil {
				return nil, fmt.Errorf("listing: %w", err)
			}
		}
		select {
		case <-b.js.PublishAsyncComplete():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return ids, b.await(ctx, "orders' ticket copies", func() (bool, error) {
		var copies int
		err := b.db.orders.QueryRow(ctx, `SELECT count(*) FROM tickets`).Scan(&copies)
		return copies == n, err
	})
}

// place is the orders service's POST /api/orders: read its copy of the
// ticket; in one transaction reserve the copy (if it is still the version
// read and free), create the order, add it to the buyer's index and record
// order:created in the outbox; then publish the event and wait for its
// acknowledgement.
func (b *bench) place(ctx context.Context, userID, ticketID string) (orderID string, err error) {
	var t struct {
		title      string
		price      float64
		version    int64
		reservedBy string
	}
	err = b.db.orders.QueryRow(ctx, `SELECT title, price, version, reserved_by FROM tickets WHERE id = $1`, ticketID).
		Scan(&t.title, &t.price, &t.version, &t.reservedBy)
	if err != nil {
		return "", err
	}
	if t.reservedBy != "" {
		return "", errReserved
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	ev := events.OrderCreatedEvent{ID: newID(), Status: events.OrderStatusCreated, UserID: userID, ExpiresAt: now.Add(expirationWindow),
		Ticket: events.OrderTicket{ID: ticketID, Price: t.price}}
	msg := ev.Message()
	data, _ := json.Marshal(msg.Data)
	id := msg.ID

	err = pgx.BeginFunc(ctx, b.db.orders, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tickets SET reserved_by = $3 WHERE id = $1 AND version = $2 AND reserved_by = ''`,
			ticketID, t.version, ev.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errConflict // another order, or an update, got there first
		}
		if _, err := tx.Exec(ctx, `INSERT INTO orders
			(id, user_id, status, expires_at, ticket_id, ticket_title, ticket_price, ticket_version, version, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			ev.ID, userID, string(ev.Status), ev.ExpiresAt, ticketID, t.title, t.price, t.version, ev.Version, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_orders (user_id, order_ids) VALUES ($1, ARRAY[$2::text])
			ON CONFLICT (user_id) DO UPDATE SET order_ids = user_orders.order_ids || $2::text`, userID, ev.ID); err != nil {
			return err
		}
		return b.ordersOut.record(ctx, tx, msg.Topic, id, data)
	})
	if err != nil {
		return "", err
	}
	return ev.ID, b.ordersOut.publish(ctx, msg.Topic, id, data)
}

// newID returns a random 96-bit id in hex, as the services' ids are.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
