package main

import (
	"context"
	"errors"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// orderStore keeps orders, orders' copies of tickets and each buyer's index of
// orders in orders' own state store. A change to an order is one transaction
// with every key it touches, each asserting the ETag it was read with, and
// with its event (through the outbox): so of two orders for one ticket only one
// can commit, and a change and its event are never apart.
type orderStore struct {
	state  sidecar.State
	outbox *sidecar.Outbox
	// ticketWait is how long place waits for a ticket it has not heard of:
	// tickets answers 201 as it publishes ticket:created, so a buyer who orders
	// at once can be a few milliseconds ahead of the event.
	ticketWait time.Duration
}

func newOrderStore(state sidecar.State, outbox *sidecar.Outbox) *orderStore {
	return &orderStore{state: state, outbox: outbox}
}

func orderKey(id string) string          { return "order|" + id }
func ticketKey(id string) string         { return "ticket|" + id }
func userOrdersKey(userID string) string { return "user-orders|" + userID }

// writeAttempts bounds the re-read-and-retry loop of a write that lost a race.
const writeAttempts = 5

// retryOnConflict runs f until it does not fail with sidecar.ErrConflict, at
// most writeAttempts times. f re-reads what it writes, so each attempt starts
// from the state that won.
func retryOnConflict(f func() error) error {
	var err error
	for range writeAttempts {
		if err = f(); !errors.Is(err, sidecar.ErrConflict) {
			return err
		}
	}
	return err
}

// overwrite replaces the value read with etag; with no etag (the key was
// missing) it creates the key, failing if someone else created it meanwhile.
func overwrite(key string, v any, etag string) sidecar.Op {
	if etag == "" {
		return sidecar.Op{Key: key, Value: v, Create: true}
	}
	return sidecar.Op{Key: key, Value: v, ETag: etag}
}

// get reads key into v and returns its ETag, or ErrNotFound.
func (s *orderStore) get(ctx context.Context, key string, v any) (etag string, err error) {
	it, err := s.state.Get(ctx, key)
	if err != nil {
		return "", err
	}
	if !it.Found() {
		return "", ErrNotFound
	}
	return it.ETag, it.Decode(v)
}

func (s *orderStore) order(ctx context.Context, id string) (Order, string, error) {
	var o Order
	etag, err := s.get(ctx, orderKey(id), &o)
	return o, etag, err
}

func (s *orderStore) ticket(ctx context.Context, id string) (Ticket, string, error) {
	var t Ticket
	etag, err := s.get(ctx, ticketKey(id), &t)
	return t, etag, err
}

// userOrders returns the buyer's index, empty with no ETag if there is none.
func (s *orderStore) userOrders(ctx context.Context, userID string) (userOrders, string, error) {
	var u userOrders
	etag, err := s.get(ctx, userOrdersKey(userID), &u)
	if errors.Is(err, ErrNotFound) {
		return userOrders{}, "", nil
	}
	return u, etag, err
}

// place takes the ticket for the buyer: the reserved ticket copy, the new
// order and the buyer's index in one transaction with order:created. A lost
// race re-reads, and then finds the ticket reserved.
func (s *orderStore) place(ctx context.Context, userID, ticketID string, now time.Time, window time.Duration) (Order, error) {
	t, tETag, err := s.awaitTicket(ctx, ticketID)
	if err != nil {
		return Order{}, err
	}
	id := newID()
	var placed Order
	first := true
	err = retryOnConflict(func() error {
		if !first { // a lost race: start again from the state that won
			var err error
			if t, tETag, err = s.ticket(ctx, ticketID); err != nil {
				return err
			}
		}
		first = false
		o, reserved, err := newOrder(id, userID, t, now, window)
		if err != nil {
			return err
		}
		idx, idxETag, err := s.userOrders(ctx, userID)
		if err != nil {
			return err
		}
		ops := []sidecar.Op{
			{Key: ticketKey(t.ID), Value: reserved, ETag: tETag},
			{Key: orderKey(o.ID), Value: o, Create: true},
			overwrite(userOrdersKey(userID), idx.with(o.ID), idxETag),
		}
		if err := s.outbox.Commit(ctx, ops, o.createdEvent()); err != nil {
			return err
		}
		placed = o
		return nil
	})
	return placed, err
}

// awaitTicket returns the ticket's copy once orders knows the ticket, or
// ErrNotFound after ticketWait: a ticket that is truly unknown costs its
// caller that wait.
func (s *orderStore) awaitTicket(ctx context.Context, id string) (Ticket, string, error) {
	return sidecar.Await(ctx, s.ticketWait, ErrNotFound, func() (Ticket, string, error) { return s.ticket(ctx, id) })
}

// ordersOf returns the buyer's orders, oldest first.
func (s *orderStore) ordersOf(ctx context.Context, userID string) ([]Order, error) {
	idx, _, err := s.userOrders(ctx, userID)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(idx.OrderIDs))
	for i, id := range idx.OrderIDs {
		keys[i] = orderKey(id)
	}
	items, err := s.state.GetBulk(ctx, keys)
	if err != nil {
		return nil, err
	}
	orders := make([]Order, 0, len(items))
	for _, it := range items {
		if !it.Found() {
			continue // the index and its orders are written together; guard anyway
		}
		var o Order
		if err := it.Decode(&o); err != nil {
			return nil, err
		}
		orders = append(orders, o)
	}
	return orders, nil
}

// cancel cancels an order and frees its ticket, in one transaction with
// order:cancelled: the one path for a buyer's DELETE and for expiry. allow, if
// given, may refuse the order first (ownership). Errors are those of allow and
// Order.cancel, ErrNotFound, and ErrConflict once the retries are spent.
func (s *orderStore) cancel(ctx context.Context, id string, allow func(Order) error) (Order, error) {
	var cancelled Order
	err := retryOnConflict(func() error {
		o, etag, err := s.order(ctx, id)
		if err != nil {
			return err
		}
		if allow != nil {
			if err := allow(o); err != nil {
				return err
			}
		}
		c, err := o.cancel()
		if err != nil {
			return err
		}
		ops := []sidecar.Op{{Key: orderKey(o.ID), Value: c, ETag: etag}}
		t, tETag, err := s.ticket(ctx, o.Ticket.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			// No copy to free (copies are never deleted, so this is a guard).
		case err != nil:
			return err
		default:
			if freed, changed := t.release(o.ID); changed {
				ops = append(ops, sidecar.Op{Key: ticketKey(t.ID), Value: freed, ETag: tETag})
			}
		}
		if err := s.outbox.Commit(ctx, ops, c.cancelledEvent()); err != nil {
			return err
		}
		cancelled = c
		return nil
	})
	return cancelled, err
}

// complete marks an order paid. The original publishes nothing for it, and
// neither do we. Errors are those of Order.complete, ErrNotFound, and
// ErrConflict once the retries are spent.
func (s *orderStore) complete(ctx context.Context, id string) (Order, error) {
	var completed Order
	err := retryOnConflict(func() error {
		o, etag, err := s.order(ctx, id)
		if err != nil {
			return err
		}
		c, err := o.complete()
		if err != nil {
			return err
		}
		if err := s.state.Transact(ctx, sidecar.Op{Key: orderKey(o.ID), Value: c, ETag: etag}); err != nil {
			return err
		}
		completed = c
		return nil
	})
	return completed, err
}

// addTicket creates the copy of a new ticket; created is false if it existed.
func (s *orderStore) addTicket(ctx context.Context, t Ticket) (created bool, err error) {
	err = s.state.Transact(ctx, sidecar.Op{Key: ticketKey(t.ID), Value: t, Create: true})
	if errors.Is(err, sidecar.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// updateTicket applies a ticket:updated to the copy (see Ticket.applyUpdate),
// keeping its reservation. Read-model writes publish nothing. Errors are
// ErrNotFound (no copy yet), ErrVersionGap, and ErrConflict once the retries
// are spent.
func (s *orderStore) updateTicket(ctx context.Context, ev events.TicketUpdatedEvent) error {
	return retryOnConflict(func() error {
		t, etag, err := s.ticket(ctx, ev.ID)
		if err != nil {
			return err
		}
		updated, changed, err := t.applyUpdate(ev)
		if err != nil || !changed {
			return err
		}
		return s.state.Transact(ctx, sidecar.Op{Key: ticketKey(t.ID), Value: updated, ETag: etag})
	})
}
