package main

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// orderStore keeps orders, orders' copies of tickets and each buyer's index of
// orders in orders' own state store. A change to an order is one Change (see
// package store) over every key it touches, each write asserting the ETag it
// was read with, committed with its event: so of two orders for one ticket
// only one can commit, and a change and its event are never apart.
type orderStore struct {
	db *store.Store
	// ticketWait is how long place waits for a ticket it has not heard of:
	// tickets answers 201 as it publishes ticket:created, so a buyer who orders
	// at once can be a few milliseconds ahead of the event.
	ticketWait time.Duration
}

func newOrderStore(db *store.Store, ticketWait time.Duration) *orderStore {
	return &orderStore{db: db, ticketWait: ticketWait}
}

func orderKey(id string) string          { return "order|" + id }
func ticketKey(id string) string         { return "ticket|" + id }
func userOrdersKey(userID string) string { return "user-orders|" + userID }

// userOrdersPageKey is the key of a buyer's page number n (see userOrders).
func userOrdersPageKey(userID string, n int) string {
	return "user-orders|" + userID + "|" + strconv.Itoa(n)
}

// stored decodes a stored aggregate, or is ErrNotFound for a missing key.
func stored[T any](it store.Item) (T, error) {
	var v T
	if !it.Found() {
		return v, ErrNotFound
	}
	return v, it.Decode(&v)
}

// get reads key into v and returns its ETag, or ErrNotFound.
func (s *orderStore) get(ctx context.Context, key string, v any) (etag string, err error) {
	it, err := s.db.Get(ctx, key)
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

// place takes the ticket for the buyer (see placeChange). A ticket orders
// has not heard of yet is waited for, up to ticketWait, backing off from 5 ms
// to 200 ms.
func (s *orderStore) place(ctx context.Context, userID, ticketID string, now time.Time, window time.Duration) (Order, error) {
	c := placeChange(newID(), userID, ticketID, now, window)
	deadline := time.Now().Add(s.ticketWait)
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		o, err := store.Apply(ctx, s.db, c)
		if !errors.Is(err, ErrNotFound) || !time.Now().Add(delay).Before(deadline) {
			return o, err
		}
		select {
		case <-ctx.Done():
			return Order{}, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// placeChange is the Change that takes the ticket for the buyer: the reserved
// ticket copy, the new order and the buyer's index, with order:created. Of
// concurrent orders for one ticket only one commits; the others decide again
// and find the ticket reserved.
func placeChange(id, userID, ticketID string, now time.Time, window time.Duration) store.Change[Order] {
	return store.Change[Order]{
		Keys: []string{ticketKey(ticketID), userOrdersKey(userID)},
		Decide: func(r store.Read) (Order, store.Effect, error) {
			tIt, idxIt := r.Item(ticketKey(ticketID)), r.Item(userOrdersKey(userID))
			t, err := stored[Ticket](tIt)
			if err != nil {
				return Order{}, store.Effect{}, err
			}
			o, reserved, err := newOrder(id, userID, t, now, window)
			if err != nil {
				return Order{}, store.Effect{}, err
			}
			var idx userOrders
			if idxIt.Found() {
				if err := idxIt.Decode(&idx); err != nil {
					return Order{}, store.Effect{}, err
				}
			}
			head, full := idx.with(o.ID)
			ops := []store.Op{
				store.Put(tIt, reserved),
				store.Create(orderKey(o.ID), o),
				store.Put(idxIt, head),
			}
			if full != nil {
				ops = append(ops, store.Create(userOrdersPageKey(userID, idx.Pages), userOrders{OrderIDs: full}))
			}
			return o, store.Effect{Ops: ops, Events: []events.Message{o.createdEvent()}}, nil
		},
	}
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
	items, err := s.db.GetBulk(ctx, keys)
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
	pages, err := s.db.GetBulk(ctx, keys)
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

// cancel cancels one of the user's orders and frees its ticket (see
// cancelChange).
func (s *orderStore) cancel(ctx context.Context, id, userID string) (Order, error) {
	return store.Apply(ctx, s.db, cancelChange(id, func(o Order) error { return o.ownedBy(userID) }))
}

// cancelChange is the Change that cancels an order and frees its ticket, in
// one transaction with order:cancelled: the one path for a buyer's DELETE and
// for expiry. allow, if given, may refuse the order first (ownership). Its
// errors are those of allow and Order.cancel, and ErrNotFound.
func cancelChange(id string, allow func(Order) error) store.Change[Order] {
	return store.Change[Order]{
		Keys: []string{orderKey(id)},
		Then: func(r store.Read) []string {
			o, err := stored[Order](r.Item(orderKey(id)))
			if err != nil {
				return nil
			}
			return []string{ticketKey(o.Ticket.ID)}
		},
		Decide: func(r store.Read) (Order, store.Effect, error) {
			oIt := r.Item(orderKey(id))
			o, err := stored[Order](oIt)
			if err != nil {
				return Order{}, store.Effect{}, err
			}
			if allow != nil {
				if err := allow(o); err != nil {
					return Order{}, store.Effect{}, err
				}
			}
			c, err := o.cancel()
			if err != nil {
				return o, store.Effect{}, err
			}
			ops := []store.Op{store.Put(oIt, c)}
			tIt := r.Item(ticketKey(o.Ticket.ID))
			if t, err := stored[Ticket](tIt); err == nil {
				if freed, changed := t.release(o.ID); changed {
					ops = append(ops, store.Put(tIt, freed))
				}
			} else if !errors.Is(err, ErrNotFound) {
				return Order{}, store.Effect{}, err
			} // no copy to free: copies are never deleted, so this is a guard
			return c, store.Effect{Ops: ops, Events: []events.Message{c.cancelledEvent()}}, nil
		},
	}
}

// completeChange is the Change that marks an order paid. The original
// publishes nothing for it, and neither do we. Its errors are those of
// Order.complete, and ErrNotFound.
func completeChange(id string) store.Change[Order] {
	return store.Change[Order]{
		Keys: []string{orderKey(id)},
		Decide: func(r store.Read) (Order, store.Effect, error) {
			it := r.Item(orderKey(id))
			o, err := stored[Order](it)
			if err != nil {
				return Order{}, store.Effect{}, err
			}
			c, err := o.complete()
			if err != nil {
				return o, store.Effect{}, err
			}
			return c, store.Effect{Ops: []store.Op{store.Put(it, c)}}, nil
		},
	}
}

// addTicketChange is the Change that makes the copy of a new ticket. Creation
// never overwrites: a copy that exists (a redelivery, or one that moved on
// since) stays as it is.
func addTicketChange(t Ticket) store.Change[Ticket] {
	return store.Change[Ticket]{
		Keys: []string{ticketKey(t.ID)},
		Decide: func(r store.Read) (Ticket, store.Effect, error) {
			if cur, err := stored[Ticket](r.Item(ticketKey(t.ID))); err == nil {
				return cur, store.Effect{}, nil
			}
			return t, store.Effect{Ops: []store.Op{store.Create(ticketKey(t.ID), t)}}, nil
		},
	}
}

// updateTicketChange is the Change that applies a ticket:updated to the copy
// (see Ticket.applyUpdate), keeping its reservation. Read-model writes
// publish nothing. Its errors are ErrNotFound (no copy yet) and ErrVersionGap.
func updateTicketChange(ev events.TicketUpdatedEvent) store.Change[Ticket] {
	return store.Change[Ticket]{
		Keys: []string{ticketKey(ev.ID)},
		Decide: func(r store.Read) (Ticket, store.Effect, error) {
			it := r.Item(ticketKey(ev.ID))
			t, err := stored[Ticket](it)
			if err != nil {
				return Ticket{}, store.Effect{}, err
			}
			updated, changed, err := t.applyUpdate(ev)
			if err != nil || !changed {
				return t, store.Effect{}, err
			}
			return updated, store.Effect{Ops: []store.Op{store.Put(it, updated)}}, nil
		},
	}
}
