package main

import (
	"context"
	"errors"
	"strconv"
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
	// places, when set, commits concurrent orders together (group commit);
	// without it each order commits alone.
	places *sidecar.Batcher
}

func newOrderStore(state sidecar.State, outbox *sidecar.Outbox) *orderStore {
	return &orderStore{state: state, outbox: outbox}
}

func orderKey(id string) string          { return "order|" + id }
func ticketKey(id string) string         { return "ticket|" + id }
func userOrdersKey(userID string) string { return "user-orders|" + userID }

// userOrdersPageKey is the key of a buyer's page number n (see userOrders).
func userOrdersPageKey(userID string, n int) string {
	return "user-orders|" + userID + "|" + strconv.Itoa(n)
}

// stored decodes a stored aggregate, or is ErrNotFound for a missing key.
func stored[T any](it sidecar.Item) (T, error) {
	var v T
	if !it.Found() {
		return v, ErrNotFound
	}
	return v, it.Decode(&v)
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
// order and the buyer's index in one transaction with order:created, each
// write asserting what was read. Of concurrent orders for one ticket only one
// commits; the others read again and find the ticket reserved. A ticket
// orders has not heard of yet is waited for, up to ticketWait.
func (s *orderStore) place(ctx context.Context, userID, ticketID string, now time.Time, window time.Duration) (Order, error) {
	id := newID()
	var placed Order
	c := sidecar.Change{
		Keys: []string{ticketKey(ticketID), userOrdersKey(userID)},
		Decide: func(r sidecar.Read) (sidecar.Effect, error) {
			tIt, idxIt := r.Item(ticketKey(ticketID)), r.Item(userOrdersKey(userID))
			t, err := stored[Ticket](tIt)
			if err != nil {
				return sidecar.Effect{}, err
			}
			o, reserved, err := newOrder(id, userID, t, now, window)
			if err != nil {
				return sidecar.Effect{}, err
			}
			var idx userOrders
			if idxIt.Found() {
				if err := idxIt.Decode(&idx); err != nil {
					return sidecar.Effect{}, err
				}
			}
			placed = o
			head, full := idx.with(o.ID)
			ops := []sidecar.Op{
				sidecar.Put(tIt, reserved),
				{Key: orderKey(o.ID), Value: o, Create: true},
				sidecar.Put(idxIt, head),
			}
			if full != nil {
				ops = append(ops, sidecar.Op{Key: userOrdersPageKey(userID, idx.Pages), Value: userOrders{OrderIDs: full}, Create: true})
			}
			return sidecar.Effect{Ops: ops, Events: []events.Message{o.createdEvent()}}, nil
		},
	}
	apply := s.outbox.Apply
	if s.places != nil {
		apply = s.places.Apply
	}
	_, _, err := sidecar.Await(ctx, s.ticketWait, ErrNotFound, func() (struct{}, string, error) {
		return struct{}{}, "", apply(ctx, c)
	})
	return placed, err
}

// ordersOf returns the buyer's orders, oldest first.
func (s *orderStore) ordersOf(ctx context.Context, userID string) ([]Order, error) {
	idx, _, err := s.userOrders(ctx, userID)
	if err != nil {
		return nil, err
	}
	ids, err := s.pagedOrderIDs(ctx, userID, idx)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
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

// pagedOrderIDs are the ids of the buyer's full pages, oldest first, then the
// head's.
func (s *orderStore) pagedOrderIDs(ctx context.Context, userID string, head userOrders) ([]string, error) {
	if head.Pages == 0 {
		return head.OrderIDs, nil
	}
	keys := make([]string, head.Pages)
	for n := range keys {
		keys[n] = userOrdersPageKey(userID, n)
	}
	pages, err := s.state.GetBulk(ctx, keys)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, it := range pages {
		var p userOrders
		if !it.Found() {
			continue // written with the head that counts it; guard anyway
		}
		if err := it.Decode(&p); err != nil {
			return nil, err
		}
		ids = append(ids, p.OrderIDs...)
	}
	return append(ids, head.OrderIDs...), nil
}

// cancel is the Change that cancels an order and frees its ticket, in one
// transaction with order:cancelled: the one path for a buyer's DELETE and for
// expiry. allow, if given, may refuse the order first (ownership). Its errors
// are those of allow and Order.cancel, and ErrNotFound.
func cancel(id string, allow func(Order) error, cancelled *Order) sidecar.Change {
	return sidecar.Change{
		Keys: []string{orderKey(id)},
		Then: func(r sidecar.Read) []string {
			o, err := stored[Order](r.Item(orderKey(id)))
			if err != nil {
				return nil
			}
			return []string{ticketKey(o.Ticket.ID)}
		},
		Decide: func(r sidecar.Read) (sidecar.Effect, error) {
			oIt := r.Item(orderKey(id))
			o, err := stored[Order](oIt)
			if err != nil {
				return sidecar.Effect{}, err
			}
			if allow != nil {
				if err := allow(o); err != nil {
					return sidecar.Effect{}, err
				}
			}
			c, err := o.cancel()
			if err != nil {
				return sidecar.Effect{}, err
			}
			ops := []sidecar.Op{sidecar.Put(oIt, c)}
			tIt := r.Item(ticketKey(o.Ticket.ID))
			if t, err := stored[Ticket](tIt); err == nil {
				if freed, changed := t.release(o.ID); changed {
					ops = append(ops, sidecar.Put(tIt, freed))
				}
			} else if !errors.Is(err, ErrNotFound) {
				return sidecar.Effect{}, err
			} // no copy to free: copies are never deleted, so this is a guard
			if cancelled != nil {
				*cancelled = c
			}
			return sidecar.Effect{Ops: ops, Events: []events.Message{c.cancelledEvent()}}, nil
		},
	}
}

// complete is the Change that marks an order paid. The original publishes
// nothing for it, and neither do we. Its errors are those of Order.complete,
// and ErrNotFound.
func complete(id string) sidecar.Change {
	return sidecar.Change{
		Keys: []string{orderKey(id)},
		Decide: func(r sidecar.Read) (sidecar.Effect, error) {
			it := r.Item(orderKey(id))
			o, err := stored[Order](it)
			if err != nil {
				return sidecar.Effect{}, err
			}
			c, err := o.complete()
			if err != nil {
				return sidecar.Effect{}, err
			}
			return sidecar.Effect{Ops: []sidecar.Op{sidecar.Put(it, c)}}, nil
		},
	}
}

// addTicket is the Change that makes the copy of a new ticket. Creation never
// overwrites: a copy that exists (a redelivery, or one that moved on since)
// stays as it is.
func addTicket(t Ticket) sidecar.Change {
	return sidecar.Change{
		Keys: []string{ticketKey(t.ID)},
		Decide: func(r sidecar.Read) (sidecar.Effect, error) {
			if r.Item(ticketKey(t.ID)).Found() {
				return sidecar.Effect{}, nil
			}
			return sidecar.Effect{Ops: []sidecar.Op{{Key: ticketKey(t.ID), Value: t, Create: true}}}, nil
		},
	}
}

// updateTicket is the Change that applies a ticket:updated to the copy (see
// Ticket.applyUpdate), keeping its reservation. Read-model writes publish
// nothing. Its errors are ErrNotFound (no copy yet) and ErrVersionGap.
func updateTicket(ev events.TicketUpdatedEvent) sidecar.Change {
	return sidecar.Change{
		Keys: []string{ticketKey(ev.ID)},
		Decide: func(r sidecar.Read) (sidecar.Effect, error) {
			it := r.Item(ticketKey(ev.ID))
			t, err := stored[Ticket](it)
			if err != nil {
				return sidecar.Effect{}, err
			}
			updated, changed, err := t.applyUpdate(ev)
			if err != nil || !changed {
				return sidecar.Effect{}, err
			}
			return sidecar.Effect{Ops: []sidecar.Op{sidecar.Put(it, updated)}}, nil
		},
	}
}
