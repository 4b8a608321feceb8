package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// paymentStore keeps payments' state in its own state store: the copy of
// every order ("order|<id>", written from the order events, publishing
// nothing) and the one payment of each order ("payment|<orderId>"). The payment
// key is per order, so creating it is how a request claims the order: of two
// concurrent requests exactly one creates it. Every write is a Change (see
// package store).
type paymentStore struct {
	db *store.Store
	// orderWait is how long a payment waits for an order payments has not
	// heard of yet (0 in unit tests: unknown is unknown).
	orderWait time.Duration
}

func newPaymentStore(db *store.Store, orderWait time.Duration) *paymentStore {
	return &paymentStore{db: db, orderWait: orderWait}
}

func orderKey(id string) string        { return "order|" + id }
func paymentKey(orderID string) string { return "payment|" + orderID }

// order returns the copy of an order, or ErrOrderNotFound.
func (s *paymentStore) order(ctx context.Context, id string) (Order, error) {
	it, err := s.db.Get(ctx, orderKey(id))
	if err != nil {
		return Order{}, err
	}
	return storedOrder(it)
}

func storedOrder(it store.Item) (Order, error) {
	var o Order
	if !it.Found() {
		return o, ErrOrderNotFound
	}
	return o, it.Decode(&o)
}

// awaitOrder returns the copy of an order once payments knows it, or
// ErrOrderNotFound after orderWait: a buyer who pays at once can be a few
// milliseconds ahead of order:created. It looks again after 5 ms, backing
// off to 200 ms.
func (s *paymentStore) awaitOrder(ctx context.Context, id string) (Order, error) {
	deadline := time.Now().Add(s.orderWait)
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		o, err := s.order(ctx, id)
		if err != ErrOrderNotFound || !time.Now().Add(delay).Before(deadline) {
			return o, err
		}
		select {
		case <-ctx.Done():
			return Order{}, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// payment returns the order's payment; found is false for none.
func (s *paymentStore) payment(ctx context.Context, orderID string) (p Payment, found bool, err error) {
	it, err := s.db.Get(ctx, paymentKey(orderID))
	if err != nil || !it.Found() {
		return Payment{}, false, err
	}
	return p, true, it.Decode(&p)
}

func storedPayment(it store.Item) (p Payment, found bool, err error) {
	if !it.Found() {
		return p, false, nil
	}
	return p, true, it.Decode(&p)
}

// newOrderCopyChange is the Change that creates the copy of a new order,
// unless it exists: a later cancellation already applied to it stays. Its
// result says whether it created the copy.
func newOrderCopyChange(o Order) store.Change[bool] {
	return store.Change[bool]{
		Keys: []string{orderKey(o.ID)},
		Decide: func(r store.Read) (bool, store.Effect, error) {
			if r.Item(orderKey(o.ID)).Found() {
				return false, store.Effect{}, nil
			}
			return true, store.Effect{Ops: []store.Op{store.Create(orderKey(o.ID), o)}}, nil
		},
	}
}

// cancelledCopyChange is the Change that applies order:cancelled at version
// to the copy: ErrOrderNotFound if order:created has not been applied yet,
// ErrVersionGap if an event in between is missing.
func cancelledCopyChange(id string, version int64) store.Change[Order] {
	return store.Change[Order]{
		Keys: []string{orderKey(id)},
		Decide: func(r store.Read) (Order, store.Effect, error) {
			it := r.Item(orderKey(id))
			o, err := storedOrder(it)
			if err != nil {
				return Order{}, store.Effect{}, err
			}
			cancelled, changed, err := o.cancel(version)
			if err != nil || !changed {
				return o, store.Effect{}, err
			}
			return cancelled, store.Effect{Ops: []store.Op{store.Put(it, cancelled)}}, nil
		},
	}
}

// claim stores fresh as the order's pending payment, or takes over an
// abandoned one (see Payment.takeOver), and returns the claim as stored. It
// fails with ErrAlreadyPaid, or ErrPaymentInProgress when another request
// holds the claim or won the race for it.
func (s *paymentStore) claim(ctx context.Context, fresh Payment, now time.Time, takeoverAfter time.Duration) (Payment, error) {
	p, err := store.Apply(ctx, s.db, store.Change[Payment]{
		Keys: []string{paymentKey(fresh.OrderID)},
		Decide: func(r store.Read) (Payment, store.Effect, error) {
			it := r.Item(paymentKey(fresh.OrderID))
			cur, found, err := storedPayment(it)
			if err != nil {
				return Payment{}, store.Effect{}, err
			}
			if !found {
				return fresh, store.Effect{Ops: []store.Op{store.Create(it.Key, fresh)}}, nil
			}
			taken, err := cur.takeOver(now, takeoverAfter)
			if err != nil {
				return Payment{}, store.Effect{}, err
			}
			return taken, store.Effect{Ops: []store.Op{store.Put(it, taken)}}, nil
		},
	})
	if errors.Is(err, sidecar.ErrConflict) {
		return Payment{}, ErrPaymentInProgress // other requests kept winning the race
	}
	return p, err
}

func sameAttempt(a, b Payment) bool {
	return a.ID == b.ID && a.Version == b.Version && a.Status == b.Status && a.AttemptAt.Equal(b.AttemptAt)
}

// release deletes a claim whose charge certainly did not happen, so that the
// order can be paid again; it deletes nothing but that very claim.
func (s *paymentStore) release(ctx context.Context, claim Payment) error {
	_, err := store.Apply(ctx, s.db, store.Change[struct{}]{
		Keys: []string{paymentKey(claim.OrderID)},
		Decide: func(r store.Read) (struct{}, store.Effect, error) {
			it := r.Item(paymentKey(claim.OrderID))
			cur, found, err := storedPayment(it)
			if err != nil || !found || !sameAttempt(cur, claim) {
				return struct{}{}, store.Effect{}, err
			}
			return struct{}{}, store.Effect{Ops: []store.Op{store.Delete(it)}}, nil
		},
	})
	return err
}

// confirm records a succeeded charge and payment:created in one commit, once
// per order whichever path (the API request or a webhook) gets there first,
// and returns the payment as it now stands.
func (s *paymentStore) confirm(ctx context.Context, c Confirmation, o Order, now time.Time) (Payment, error) {
	p, err := store.Apply(ctx, s.db, store.Change[Payment]{
		Keys: []string{paymentKey(c.OrderID)},
		Decide: func(r store.Read) (Payment, store.Effect, error) {
			it := r.Item(paymentKey(c.OrderID))
			cur, found, err := storedPayment(it)
			if err != nil {
				return Payment{}, store.Effect{}, err
			}
			next, changed := applyConfirmation(cur, found, c, o, now)
			if !changed {
				return next, store.Effect{}, nil
			}
			return next, store.Effect{Ops: []store.Op{store.Put(it, next)}, Events: []events.Message{next.createdEvent()}}, nil
		},
	})
	if err != nil {
		return Payment{}, fmt.Errorf("record payment of order %s (charge %s): %w", c.OrderID, c.StripeID, err)
	}
	return p, nil
}

// markRefunded records that the money of the order's payment went back: the
// payment as it stands if it is succeeded (or, when claim is set, if it is
// still that claim), with stripeID as its charge when given. ok is false if
// the payment was neither.
func (s *paymentStore) markRefunded(ctx context.Context, orderID string, claim *Payment, stripeID string) (ok bool, err error) {
	return store.Apply(ctx, s.db, store.Change[bool]{
		Keys: []string{paymentKey(orderID)},
		Decide: func(r store.Read) (bool, store.Effect, error) {
			it := r.Item(paymentKey(orderID))
			cur, found, err := storedPayment(it)
			switch {
			case err != nil || !found:
				return false, store.Effect{}, err
			case claim != nil && !sameAttempt(cur, *claim):
				return false, store.Effect{}, nil
			case claim == nil && cur.Status != PaymentSucceeded:
				return cur.Status == PaymentRefunded, store.Effect{}, nil
			}
			next, changed := cur.refunded(stripeID)
			if !changed {
				return true, store.Effect{}, nil
			}
			return true, store.Effect{Ops: []store.Op{store.Put(it, next)}}, nil
		},
	})
}
