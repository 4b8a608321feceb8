package main

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// paymentStore keeps the one payment of each order ("payment|<orderId>") in
// payments' own state store. The key is per order, so creating it is how a
// request claims the order: of two concurrent requests exactly one creates
// it. Every write is a Change (see package store). What payments does not
// own, the order, it asks orders for (see pay.go).
type paymentStore struct {
	db *store.Store
}

func newPaymentStore(db *store.Store) *paymentStore { return &paymentStore{db: db} }

func paymentKey(orderID string) string { return "payment|" + orderID }

func storedPayment(it store.Item) (p Payment, found bool, err error) {
	if !it.Found() {
		return p, false, nil
	}
	return p, true, it.Decode(&p)
}

// payment returns the order's payment; found is false for none.
func (s *paymentStore) payment(ctx context.Context, orderID string) (Payment, bool, error) {
	it, err := s.db.Get(ctx, paymentKey(orderID))
	if err != nil {
		return Payment{}, false, err
	}
	return storedPayment(it)
}

// paymentChange is a Change of the order's payment: decide gets the payment
// as read (found false: none) and returns the payment as it now stands, the
// write (nil: none) and the events, or an error.
func paymentChange(orderID string, decide func(p Payment, found bool) (Payment, *Payment, []events.Message, error)) store.Change[Payment] {
	return store.Change[Payment]{
		Keys: []string{paymentKey(orderID)},
		Decide: func(r store.Read) (Payment, store.Effect, error) {
			it := r.Item(paymentKey(orderID))
			cur, found, err := storedPayment(it)
			if err != nil {
				return Payment{}, store.Effect{}, err
			}
			now, write, msgs, err := decide(cur, found)
			if err != nil || write == nil {
				return now, store.Effect{Events: msgs}, err
			}
			return now, store.Effect{Ops: []store.Op{store.Put(it, *write)}, Events: msgs}, nil
		},
	}
}

// claim stores fresh as the order's payment, unless the order has one (see
// Payment.claimed): ErrAlreadyPaid, ErrPaymentInProgress, ErrNotPayable, or
// errActionRequired with the payment waiting for its buyer.
func (s *paymentStore) claim(ctx context.Context, fresh Payment) (Payment, error) {
	p, err := store.Apply(ctx, s.db, paymentChange(fresh.OrderID, func(cur Payment, found bool) (Payment, *Payment, []events.Message, error) {
		if found {
			if err := cur.claimed(); err != nil {
				return cur, nil, nil, err
			}
		}
		return fresh, &fresh, nil, nil
	}))
	if errors.Is(err, store.ErrConflict) {
		return Payment{}, ErrPaymentInProgress // other requests kept winning the race
	}
	return p, err
}

// sameAttempt reports whether cur is still the attempt a.
func sameAttempt(cur Payment, found bool, a Payment) bool {
	return found && cur.ID == a.ID && cur.AttemptAt.Equal(a.AttemptAt)
}

// await records that the attempt waits for its buyer (requires_action) or
// for Stripe (processing), with its intent.
func (s *paymentStore) await(ctx context.Context, a Payment, in Intent, status PaymentStatus) (Payment, error) {
	return store.Apply(ctx, s.db, paymentChange(a.OrderID, func(cur Payment, found bool) (Payment, *Payment, []events.Message, error) {
		if !sameAttempt(cur, found, a) || !cur.Status.open() {
			return cur, nil, nil, nil
		}
		cur.Status, cur.IntentID, cur.ClientSecret, cur.NextActionURL = status, in.ID, in.ClientSecret, in.NextActionURL
		cur.Version++
		return cur, &cur, nil, nil
	}))
}

// succeed records that the attempt's money was taken, with payment:created,
// once whichever path (the request, Stripe's webhook, the reconciler) gets
// there first. ok is false when the order's payment is no longer this
// attempt or was abandoned: the money must go back.
func (s *paymentStore) succeed(ctx context.Context, a Payment, in Intent) (p Payment, ok bool, err error) {
	p, err = store.Apply(ctx, s.db, paymentChange(a.OrderID, func(cur Payment, found bool) (Payment, *Payment, []events.Message, error) {
		switch {
		case found && cur.Status == PaymentSucceeded && cur.StripeID == in.ID:
			return cur, nil, nil, nil
		case !sameAttempt(cur, found, a) || !cur.Status.open():
			return cur, nil, nil, errNotThisAttempt
		}
		done := cur.succeeded(in)
		return done, &done, []events.Message{done.createdEvent()}, nil
	}))
	if errors.Is(err, errNotThisAttempt) {
		return p, false, nil
	}
	return p, err == nil, err
}

var errNotThisAttempt = errors.New("the order's payment is not this attempt")

// release deletes an attempt that took no money, so that the order can be
// paid again; it deletes nothing but that very attempt.
func (s *paymentStore) release(ctx context.Context, a Payment) error {
	_, err := store.Apply(ctx, s.db, store.Change[Payment]{
		Keys: []string{paymentKey(a.OrderID)},
		Decide: func(r store.Read) (Payment, store.Effect, error) {
			it := r.Item(paymentKey(a.OrderID))
			cur, found, err := storedPayment(it)
			if err != nil || !sameAttempt(cur, found, a) || !cur.Status.open() {
				return cur, store.Effect{}, err
			}
			return cur, store.Effect{Ops: []store.Op{store.Delete(it)}}, nil
		},
	})
	return err
}

// abandon records, for an order orders is ending, that its payment took no
// money and never will: the open attempt a (or, with a zero, no attempt at
// all) becomes Abandoned, so that no later claim or confirmation can take
// money for the order. The payment as it stands is returned: one that
// succeeded meanwhile is not abandoned.
func (s *paymentStore) abandon(ctx context.Context, orderID string, a Payment, now time.Time) (Payment, error) {
	return store.Apply(ctx, s.db, paymentChange(orderID, func(cur Payment, found bool) (Payment, *Payment, []events.Message, error) {
		switch {
		case !found:
			gone := Payment{ID: newID(), OrderID: orderID, Status: PaymentAbandoned, AttemptAt: now.UTC()}
			return gone, &gone, nil, nil
		case !cur.Status.open() || (a.ID != "" && !sameAttempt(cur, found, a)):
			return cur, nil, nil, nil
		}
		cur.Status, cur.Method, cur.ClientSecret, cur.NextActionURL = PaymentAbandoned, "", "", ""
		cur.Version++
		return cur, &cur, nil, nil
	}))
}

// markRefunded records that the money of the order's succeeded payment went
// back.
func (s *paymentStore) markRefunded(ctx context.Context, orderID string) (Payment, error) {
	return store.Apply(ctx, s.db, paymentChange(orderID, func(cur Payment, found bool) (Payment, *Payment, []events.Message, error) {
		if !found || cur.Status != PaymentSucceeded {
			return cur, nil, nil, nil
		}
		done, _ := cur.refunded()
		return done, &done, nil, nil
	}))
}

// openBefore lists the payments claimed before cutoff whose outcome is still
// open, page by page through the state query API.
func (s *paymentStore) openBefore(ctx context.Context, cutoff time.Time) ([]Payment, error) {
	var out []Payment
	for _, status := range []PaymentStatus{PaymentPending, PaymentRequiresAction, PaymentProcessing} {
		token := ""
		for {
			q, _ := json.Marshal(map[string]any{
				"filter": map[string]any{"EQ": map[string]any{"status": status}},
				"page":   map[string]any{"limit": 200, "token": token},
			})
			items, next, err := s.db.Query(ctx, string(q))
			if err != nil {
				return nil, err
			}
			for _, it := range items {
				var p Payment
				if it.Decode(&p) != nil || p.Status != status || p.OrderID == "" {
					continue
				}
				if p.AttemptAt.Before(cutoff) {
					out = append(out, p)
				}
			}
			if next == "" || len(items) < 200 {
				break
			}
			token = next
		}
	}
	return out, nil
}

func sellerKey(userID string) string { return "seller|" + userID }

// seller returns a seller's payout account; found is false for none.
func (s *paymentStore) seller(ctx context.Context, userID string) (Seller, bool, error) {
	if userID == "" {
		return Seller{}, false, nil
	}
	it, err := s.db.Get(ctx, sellerKey(userID))
	if err != nil || !it.Found() {
		return Seller{}, false, err
	}
	var v Seller
	return v, true, it.Decode(&v)
}

// sellerChange is a Change of a seller's payout account: decide gets it as
// read (found false: none) and returns it as it must be saved (nil: as it
// is).
func sellerChange(userID string, decide func(cur Seller, found bool) (*Seller, error)) store.Change[Seller] {
	return store.Change[Seller]{
		Keys: []string{sellerKey(userID)},
		Decide: func(r store.Read) (Seller, store.Effect, error) {
			it := r.Item(sellerKey(userID))
			var cur Seller
			found := it.Found()
			if found {
				if err := it.Decode(&cur); err != nil {
					return Seller{}, store.Effect{}, err
				}
			}
			next, err := decide(cur, found)
			if err != nil || next == nil {
				return cur, store.Effect{}, err
			}
			return *next, store.Effect{Ops: []store.Op{store.Put(it, *next)}}, nil
		},
	}
}

// sent records that a payment's waiting seller share was transferred. A
// payment refunded meanwhile is left as it is (its caller reverses the
// transfer): the payment as it stands is returned.
func (s *paymentStore) sent(ctx context.Context, orderID, transferID string) (Payment, error) {
	return store.Apply(ctx, s.db, paymentChange(orderID, func(cur Payment, found bool) (Payment, *Payment, []events.Message, error) {
		if !found || cur.Status != PaymentSucceeded || cur.Transfer != TransferPending {
			return cur, nil, nil, nil
		}
		cur.Transfer, cur.TransferID = TransferSent, transferID
		cur.Version++
		return cur, &cur, nil, nil
	}))
}

// pendingTransfers lists the succeeded payments whose seller share waits to
// be sent, page by page.
func (s *paymentStore) pendingTransfers(ctx context.Context) ([]Payment, error) {
	var out []Payment
	token := ""
	for {
		q, _ := json.Marshal(map[string]any{
			"filter": map[string]any{"EQ": map[string]any{"transfer": TransferPending}},
			"page":   map[string]any{"limit": 200, "token": token},
		})
		items, next, err := s.db.Query(ctx, string(q))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var p Payment
			if it.Decode(&p) == nil && p.Transfer == TransferPending && p.Status == PaymentSucceeded {
				out = append(out, p)
			}
		}
		if next == "" || len(items) < 200 {
			return out, nil
		}
		token = next
	}
}

// salesOf lists the payments of a seller's tickets, page by page.
func (s *paymentStore) salesOf(ctx context.Context, sellerID string) ([]Payment, error) {
	var out []Payment
	token := ""
	for {
		q, _ := json.Marshal(map[string]any{
			"filter": map[string]any{"EQ": map[string]any{"sellerId": sellerID}},
			"page":   map[string]any{"limit": 200, "token": token},
		})
		items, next, err := s.db.Query(ctx, string(q))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var p Payment
			if it.Decode(&p) == nil && p.SellerID == sellerID && p.Status != PaymentAbandoned {
				out = append(out, p)
			}
		}
		if next == "" || len(items) < 200 {
			return out, nil
		}
		token = next
	}
}
