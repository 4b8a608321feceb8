package main

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/invoke"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/tracing"
)

// orderStore keeps orders, orders' copies of tickets and each buyer's index of
// orders in orders' own state store. A change to an order is one Change (see
// package store) over every key it touches, each write asserting the ETag it
// was read with, committed with its event: so of two orders for one ticket
// only one can commit, and a change and its event are never apart.
//
// What orders does not own it asks its owner for (owners.go): tickets
// reserves the ticket of an order before orders makes it, and payments says
// how a payment ended before an order awaiting it is cancelled.
type orderStore struct {
	db       *store.Store
	tickets  ticketOwner
	payments paymentOwner
	// lease is how long an order stays awaiting:payment for one payment
	// attempt before orders asks payments how it ended.
	lease time.Duration
}

func newOrderStore(db *store.Store, tickets ticketOwner, payments paymentOwner, lease time.Duration) *orderStore {
	return &orderStore{db: db, tickets: tickets, payments: payments, lease: lease}
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

// storedOrder decodes an order; an abandoned one (abandonChange) does not
// exist.
func storedOrder(it store.Item) (Order, error) {
	o, err := stored[Order](it)
	if err == nil && o.Status == statusAbandoned {
		return Order{}, ErrNotFound
	}
	return o, err
}

// order returns the order with its ticket as orders knows it now.
func (s *orderStore) order(ctx context.Context, id string) (Order, error) {
	items, err := s.db.GetBulk(ctx, []string{orderKey(id)})
	if err != nil {
		return Order{}, err
	}
	o, err := storedOrder(items[0])
	if err != nil {
		return Order{}, err
	}
	orders, err := s.withTickets(ctx, []Order{o})
	if err != nil {
		return Order{}, err
	}
	return orders[0], nil
}

// withTickets shows each order with its ticket as orders knows it now.
func (s *orderStore) withTickets(ctx context.Context, orders []Order) ([]Order, error) {
	if len(orders) == 0 {
		return orders, nil
	}
	keys := make([]string, len(orders))
	for i, o := range orders {
		keys[i] = ticketKey(o.Ticket.ID)
	}
	items, err := s.db.GetBulk(ctx, keys)
	if err != nil {
		return nil, err
	}
	for i, it := range items {
		t, err := stored[Ticket](it)
		orders[i] = orders[i].withTicket(t, err == nil)
	}
	return orders, nil
}

// userOrders returns the buyer's index, empty if there is none.
func (s *orderStore) userOrders(ctx context.Context, userID string) (userOrders, error) {
	it, err := s.db.Get(ctx, userOrdersKey(userID))
	if err != nil {
		return userOrders{}, err
	}
	u, err := stored[userOrders](it)
	if errors.Is(err, ErrNotFound) {
		return userOrders{}, nil
	}
	return u, err
}

// place takes the ticket for the buyer. Orders first looks at its own copy (a
// ticket it knows is held is refused at once), then asks tickets, the
// ticket's owner, to reserve it for the new order (reserveAtOwner): so the
// order is made on the ticket as its seller last saved it, and the ticket is
// reserved by the time the buyer hears 201. Then it commits the order
// (placeChange). If tickets cannot be reached, the copy decides, as the
// event-driven original did, and tickets reserves on order:created. If the
// order is not made after tickets reserved for it, tickets is asked to let go
// (and its hold sweep does, should that call fail too).
func (s *orderStore) place(ctx context.Context, userID, ticketID string, now time.Time, window time.Duration) (Order, error) {
	id := newID()
	it, err := s.db.Get(ctx, ticketKey(ticketID))
	if err != nil {
		return Order{}, err
	}
	if t, err := stored[Ticket](it); err == nil && t.ReservedBy != "" {
		return Order{}, ErrTicketReserved
	}
	owner, reserved, err := s.reserveAtOwner(ctx, ticketID, id)
	if err != nil {
		return Order{}, err
	}
	o, err := store.Apply(ctx, s.db, placeChange(id, userID, ticketID, owner, reserved, now, window, tracing.Parent(ctx)))
	if err != nil && reserved && !invoke.IsUnreachable(err) && !errors.Is(err, store.ErrUnavailable) {
		// Not made, and certainly so: free the ticket now.
		_ = s.tickets.Release(context.WithoutCancel(ctx), ticketID, id)
	}
	return o, err
}

// placeChange is the Change that takes the ticket for the buyer: the ticket
// copy (as its owner reserved it for this order, when reserved, else as
// orders knows it), the new order and the buyer's index, with order:created.
// Of concurrent orders for one ticket only one commits; the others decide
// again and find the ticket reserved.
func placeChange(id, userID, ticketID string, owner Ticket, reserved bool, now time.Time, window time.Duration, trace string) store.Change[Order] {
	return store.Change[Order]{
		Keys: []string{ticketKey(ticketID), userOrdersKey(userID), orderKey(id)},
		Decide: func(r store.Read) (Order, store.Effect, error) {
			if r.Item(orderKey(id)).Found() {
				return Order{}, store.Effect{}, errAbandoned // tickets gave the reservation up
			}
			tIt, idxIt := r.Item(ticketKey(ticketID)), r.Item(userOrdersKey(userID))
			t, err := stored[Ticket](tIt)
			switch {
			case err == nil && reserved:
				if t.ReservedBy != "" && t.ReservedBy != id {
					return Order{}, store.Effect{}, ErrTicketReserved
				}
				t = t.reservedAs(owner, id)
			case errors.Is(err, ErrNotFound) && reserved:
				t = Ticket{}.reservedAs(owner, id)
			case err != nil:
				return Order{}, store.Effect{}, err
			}
			o, copy, err := newOrder(id, userID, t, now, window)
			if err != nil {
				return Order{}, store.Effect{}, err
			}
			o.Trace = trace
			var idx userOrders
			if idxIt.Found() {
				if err := idxIt.Decode(&idx); err != nil {
					return Order{}, store.Effect{}, err
				}
			}
			head, full := idx.with(o.ID)
			ops := []store.Op{
				store.Put(tIt, copy),
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

// ordersOf returns the buyer's orders, oldest first, each with its ticket as
// orders knows it now.
func (s *orderStore) ordersOf(ctx context.Context, userID string) ([]Order, error) {
	idx, err := s.userOrders(ctx, userID)
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
		o, err := storedOrder(it)
		if errors.Is(err, ErrNotFound) {
			continue // the index and its orders are written together; guard anyway
		}
		if err != nil {
			return nil, err
		}
		orders = append(orders, o)
	}
	return s.withTickets(ctx, orders)
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
// cancelChange); an order whose payment's time is up is settled first (see
// settleThenCancel).
func (s *orderStore) cancel(ctx context.Context, id, userID string, now time.Time) (Order, error) {
	mine := func(o Order) error { return o.ownedBy(userID) }
	o, err := store.Apply(ctx, s.db, cancelChange(id, mine, now, false))
	if errors.Is(err, errSettleFirst) {
		return s.settleThenCancel(ctx, id, mine, now)
	}
	return o, err
}

// settleThenCancel asks payments how the payment of an order awaiting it
// ended, then completes the order (the money was taken: ErrOrderComplete for
// the cancellation) or cancels it (none was, nor will be). A payment still
// under way is ErrPaymentInProgress.
func (s *orderStore) settleThenCancel(ctx context.Context, id string, allow func(Order) error, now time.Time) (Order, error) {
	outcome, err := s.payments.Settle(ctx, id)
	if err != nil {
		return Order{}, err
	}
	switch outcome {
	case invoke.Succeeded:
		if _, err := store.Apply(ctx, s.db, completeChange(id)); err != nil && !errors.Is(err, ErrAlreadyComplete) {
			return Order{}, err
		}
		return Order{}, ErrOrderComplete
	case invoke.Failed:
		return store.Apply(ctx, s.db, cancelChange(id, allow, now, true))
	default:
		return Order{}, ErrPaymentInProgress
	}
}

// cancelChange is the Change that cancels an order and frees its ticket, in
// one transaction with order:cancelled: the one path for a buyer's DELETE and
// for expiry. allow, if given, may refuse the order first (ownership). An
// order awaiting a payment is cancelled only once payments said the payment
// took no money (settled). Its errors are those of allow and Order.cancel,
// and ErrNotFound.
func cancelChange(id string, allow func(Order) error, now time.Time, settled bool) store.Change[Order] {
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
			o, err := storedOrder(oIt)
			if err != nil {
				return Order{}, store.Effect{}, err
			}
			if allow != nil {
				if err := allow(o); err != nil {
					return Order{}, store.Effect{}, err
				}
			}
			c, err := o.cancel(now, settled)
			if err != nil {
				return o, store.Effect{}, err
			}
			return c, cancelled(r, oIt, c), nil
		},
	}
}

// cancelled is the effect of cancelling o (read as oIt, now c): the order,
// its ticket copy freed, order:cancelled.
func cancelled(r store.Read, oIt store.Item, c Order) store.Effect {
	ops := []store.Op{store.Put(oIt, c)}
	tIt := r.Item(ticketKey(c.Ticket.ID))
	if t, err := stored[Ticket](tIt); err == nil {
		if freed, changed := t.release(c.ID); changed {
			ops = append(ops, store.Put(tIt, freed))
		}
	} // no copy to free: copies are never deleted, so this is a guard
	return store.Effect{Ops: ops, Events: []events.Message{c.cancelledEvent()}}
}

// completeChange is the Change that marks an order paid. The original
// publishes nothing for it, and neither do we. Its errors are those of
// Order.complete, and ErrNotFound.
func completeChange(id string) store.Change[Order] {
	return store.Change[Order]{
		Keys: []string{orderKey(id)},
		Decide: func(r store.Read) (Order, store.Effect, error) {
			it := r.Item(orderKey(id))
			o, err := storedOrder(it)
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

// payChange is the Change that holds an order for userID's payment until
// now + lease (see Order.awaitPayment). It publishes nothing: the hold is
// orders' own, and ends with the payment.
func payChange(id, userID string, now time.Time, lease time.Duration) store.Change[Order] {
	return store.Change[Order]{
		Keys: []string{orderKey(id)},
		Decide: func(r store.Read) (Order, store.Effect, error) {
			it := r.Item(orderKey(id))
			o, err := storedOrder(it)
			if err != nil {
				return Order{}, store.Effect{}, err
			}
			held, err := o.awaitPayment(userID, now, lease)
			if err != nil {
				return o, store.Effect{}, err
			}
			return held, store.Effect{Ops: []store.Op{store.Put(it, held)}}, nil
		},
	}
}

// unpaidChange is the Change that ends a payment that took no money: the
// order is payable again, or, past its deadline, cancelled at once.
func unpaidChange(id string, now time.Time) store.Change[Order] {
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
			it := r.Item(orderKey(id))
			o, err := storedOrder(it)
			if err != nil {
				return Order{}, store.Effect{}, err
			}
			payable, changed := o.unpaid()
			if !changed {
				return o, store.Effect{}, nil
			}
			if !now.Before(o.ExpiresAt) {
				c, err := payable.cancel(now, true)
				if err != nil {
					return o, store.Effect{}, err
				}
				return c, cancelled(r, it, c), nil
			}
			return payable, store.Effect{Ops: []store.Op{store.Put(it, payable)}}, nil
		},
	}
}

// statusAbandoned marks an order id tickets gave a reservation up for: orders
// never made that order, and now never will (the record makes the order's
// create-only write fail). The API shows no such order.
const statusAbandoned events.OrderStatus = "abandoned"

// abandonChange is the Change that answers tickets' hold sweep about an
// order: its status if it exists, else it is abandoned for good.
func abandonChange(id string) store.Change[events.OrderStatus] {
	return store.Change[events.OrderStatus]{
		Keys: []string{orderKey(id)},
		Decide: func(r store.Read) (events.OrderStatus, store.Effect, error) {
			if o, err := stored[Order](r.Item(orderKey(id))); err == nil {
				return o.Status, store.Effect{}, nil
			}
			gone := Order{ID: id, Status: statusAbandoned}
			return gone.Status, store.Effect{Ops: []store.Op{store.Create(orderKey(id), gone)}}, nil
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
