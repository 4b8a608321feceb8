package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// paymentStore keeps payments' state in its own state store: the copy of
// every order ("order|<id>", written from the order events, publishing
// nothing) and the one payment of each order ("payment|<orderId>"). The payment
// key is per order, so creating it is how a request claims the order: of two
// concurrent requests exactly one creates it.
type paymentStore struct {
	state  sidecar.State
	outbox *sidecar.Outbox
	// orderWait is how long a payment waits for an order payments has not
	// heard of yet (0 in unit tests: unknown is unknown).
	orderWait time.Duration
}

func newPaymentStore(state sidecar.State, outbox *sidecar.Outbox) *paymentStore {
	return &paymentStore{state: state, outbox: outbox}
}

func orderKey(id string) string        { return "order|" + id }
func paymentKey(orderID string) string { return "payment|" + orderID }

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

// order returns the copy of an order, or ErrOrderNotFound.
func (s *paymentStore) order(ctx context.Context, id string) (Order, string, error) {
	it, err := s.state.Get(ctx, orderKey(id))
	if err != nil {
		return Order{}, "", err
	}
	if !it.Found() {
		return Order{}, "", ErrOrderNotFound
	}
	var o Order
	return o, it.ETag, it.Decode(&o)
}

// awaitOrder returns the copy of an order once payments knows it, or
// ErrOrderNotFound after orderWait: a buyer who pays at once can be a few
// milliseconds ahead of order:created.
func (s *paymentStore) awaitOrder(ctx context.Context, id string) (Order, string, error) {
	return sidecar.Await(ctx, s.orderWait, ErrOrderNotFound, func() (Order, string, error) { return s.order(ctx, id) })
}

// addOrder creates the copy of a new order; added is false if it existed (a
// redelivery, or a concurrent one that won).
func (s *paymentStore) addOrder(ctx context.Context, o Order) (added bool, err error) {
	err = s.outbox.Apply(ctx, newOrderCopy(o, &added))
	return added, err
}

// newOrderCopy is the Change that creates the copy of a new order, unless it
// exists: a later cancellation already applied to it stays. added, when not
// nil, tells whether this change created it.
func newOrderCopy(o Order, added *bool) sidecar.Change {
	return sidecar.Change{
		Keys: []string{orderKey(o.ID)},
		Decide: func(r sidecar.Read) (sidecar.Effect, error) {
			exists := r.Item(orderKey(o.ID)).Found()
			if added != nil {
				*added = !exists
			}
			if exists {
				return sidecar.Effect{}, nil
			}
			return sidecar.Effect{Ops: []sidecar.Op{{Key: orderKey(o.ID), Value: o, Create: true}}}, nil
		},
	}
}

// cancelOrder applies order:cancelled at version to the copy: ErrOrderNotFound
// if order:created has not been applied yet, ErrVersionGap if an event in
// between is missing.
func (s *paymentStore) cancelOrder(ctx context.Context, id string, version int64) error {
	return s.outbox.Apply(ctx, cancelledCopy(id, version))
}

// cancelledCopy is the Change that applies order:cancelled at version to the
// copy.
func cancelledCopy(id string, version int64) sidecar.Change {
	return sidecar.Change{
		Keys: []string{orderKey(id)},
		Decide: func(r sidecar.Read) (sidecar.Effect, error) {
			it := r.Item(orderKey(id))
			if !it.Found() {
				return sidecar.Effect{}, ErrOrderNotFound
			}
			var o Order
			if err := it.Decode(&o); err != nil {
				return sidecar.Effect{}, err
			}
			cancelled, changed, err := o.cancel(version)
			if err != nil || !changed {
				return sidecar.Effect{}, err
			}
			return sidecar.Effect{Ops: []sidecar.Op{sidecar.Put(it, cancelled)}}, nil
		},
	}
}

// storedPayment is a payment as read, with its ETag; found is false for none.
type storedPayment struct {
	p     Payment
	etag  string
	found bool
}

func (s *paymentStore) payment(ctx context.Context, orderID string) (storedPayment, error) {
	it, err := s.state.Get(ctx, paymentKey(orderID))
	if err != nil || !it.Found() {
		return storedPayment{}, err
	}
	var sp storedPayment
	sp.etag, sp.found = it.ETag, true
	return sp, it.Decode(&sp.p)
}

// claim stores fresh as the order's pending payment, or takes over an
// abandoned one (see Payment.takeOver), and returns the claim as stored. It fails with
// ErrAlreadyPaid, or ErrPaymentInProgress when another request holds the
// claim or won the race for it.
func (s *paymentStore) claim(ctx context.Context, fresh Payment, now time.Time, takeoverAfter time.Duration) (storedPayment, error) {
	var mine Payment
	err := retryOnConflict(func() error {
		err := s.state.Transact(ctx, sidecar.Op{Key: paymentKey(fresh.OrderID), Value: fresh, Create: true})
		if err == nil {
			mine = fresh
			return nil
		}
		if !errors.Is(err, sidecar.ErrConflict) {
			return err
		}
		cur, err := s.payment(ctx, fresh.OrderID)
		if err != nil {
			return err
		}
		if !cur.found {
			return sidecar.ErrConflict // released meanwhile: try to create it again
		}
		taken, err := cur.p.takeOver(now, takeoverAfter)
		if err != nil {
			return err
		}
		err = s.state.Transact(ctx, sidecar.Op{Key: paymentKey(fresh.OrderID), Value: taken, ETag: cur.etag})
		if errors.Is(err, sidecar.ErrConflict) {
			return ErrPaymentInProgress // another request took it over first
		}
		mine = taken
		return err
	})
	if errors.Is(err, sidecar.ErrConflict) {
		err = ErrPaymentInProgress
	}
	if err != nil {
		return storedPayment{}, err
	}
	// Read the claim back for its ETag, which the release or the success is
	// written with. Anything else there now means the claim was lost.
	cur, err := s.payment(ctx, fresh.OrderID)
	if err != nil {
		return storedPayment{}, err
	}
	if !cur.found || !sameAttempt(cur.p, mine) {
		return storedPayment{}, claimLost(cur)
	}
	return cur, nil
}

func sameAttempt(a, b Payment) bool {
	return a.ID == b.ID && a.Version == b.Version && a.Status == b.Status && a.AttemptAt.Equal(b.AttemptAt)
}

func claimLost(cur storedPayment) error {
	if cur.found && cur.p.Status == PaymentSucceeded {
		return ErrAlreadyPaid
	}
	return ErrPaymentInProgress
}

// release deletes a claim whose charge certainly did not happen, so that the
// order can be paid again. The ETag keeps it from deleting anything newer.
func (s *paymentStore) release(ctx context.Context, claim storedPayment) error {
	return s.state.Transact(ctx, sidecar.Op{Key: paymentKey(claim.p.OrderID), Delete: true, ETag: claim.etag})
}

// confirm records a succeeded charge and payment:created in one outbox commit,
// once per order whichever path (the API request or a webhook) gets there
// first, and returns the payment as it now stands. known, when found, is the
// payment as the caller last read it: the first write is conditional on its
// ETag, and re-reads follow only if that lost a race.
func (s *paymentStore) confirm(ctx context.Context, c Confirmation, o Order, known storedPayment, now time.Time) (Payment, error) {
	var result Payment
	first := known.found
	err := retryOnConflict(func() error {
		cur := known
		if !first {
			var err error
			if cur, err = s.payment(ctx, c.OrderID); err != nil {
				return err
			}
		}
		first = false
		next, changed := applyConfirmation(cur.p, cur.found, c, o, now)
		result = next
		if !changed {
			return nil
		}
		op := sidecar.Op{Key: paymentKey(c.OrderID), Value: next, ETag: cur.etag}
		if !cur.found {
			op = sidecar.Op{Key: paymentKey(c.OrderID), Value: next, Create: true}
		}
		return s.outbox.Commit(ctx, []sidecar.Op{op}, next.createdEvent())
	})
	if err != nil {
		return Payment{}, fmt.Errorf("record payment of order %s (charge %s): %w", c.OrderID, c.StripeID, err)
	}
	return result, nil
}
