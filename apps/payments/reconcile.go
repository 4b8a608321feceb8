package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"
)

// reconcile settles abandoned payments. A payment is claimed before Stripe is
// called; if the request then dies (the app killed, the store down when the
// charge succeeded), the claim stays pending and the buyer may never come
// back, while the order expires. Every interval this finds claims pending
// longer than the takeover window, takes each over and charges it again
// under the same idempotency key, which Stripe answers with the first
// charge's outcome (or makes the charge, if the first request never
// arrived). Then: not charged -> the claim is released; charged and the order
// still open -> the payment is recorded (payment:created); charged but the
// order cancelled -> the money is refunded.
func reconcileEvery(ctx context.Context, log *slog.Logger, cfg config, payments *paymentStore, charges charger) {
	t := time.NewTicker(cfg.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			reconcile(ctx, log, cfg, payments, charges, time.Now())
		}
	}
}

// reconcile settles every abandoned claim once and returns how many it settled.
func reconcile(ctx context.Context, log *slog.Logger, cfg config, payments *paymentStore, charges charger, now time.Time) int {
	stale, err := payments.pendingBefore(ctx, now.Add(-cfg.TakeoverAfter))
	if err != nil {
		log.WarnContext(ctx, "reconcile: could not list pending payments", "err", err)
		return 0
	}
	n := 0
	for _, p := range stale {
		if err := settleAbandoned(ctx, log, cfg, payments, charges, p, now); err != nil {
			log.WarnContext(ctx, "reconcile: payment not settled yet", "order", p.OrderID, "err", err)
			continue
		}
		n++
	}
	return n
}

func settleAbandoned(ctx context.Context, log *slog.Logger, cfg config, payments *paymentStore, charges charger, p Payment, now time.Time) error {
	order, err := payments.order(ctx, p.OrderID)
	if err != nil {
		return err
	}
	claim, err := payments.claim(ctx, p, now, cfg.TakeoverAfter)
	if errors.Is(err, ErrAlreadyPaid) || errors.Is(err, ErrPaymentInProgress) {
		return nil // settled meanwhile, or a buyer's retry holds it now
	}
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "reconcile: taking over an abandoned payment", "order", p.OrderID, "attempt_at", p.AttemptAt)
	_, err = pay(ctx, log, cfg, payments, charges, order, claim)
	if errors.Is(err, ErrNotCharged) || errors.Is(err, ErrOrderCancelled) {
		return nil // released for another card, or refunded
	}
	return err
}

// pendingBefore lists the payments claimed before cutoff and still pending,
// page by page through the state query API.
func (s *paymentStore) pendingBefore(ctx context.Context, cutoff time.Time) ([]Payment, error) {
	var out []Payment
	token := ""
	for {
		q, _ := json.Marshal(map[string]any{
			"filter": map[string]any{"EQ": map[string]any{"status": PaymentPending}},
			"page":   map[string]any{"limit": 200, "token": token},
		})
		items, next, err := s.db.Query(ctx, string(q))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var p Payment
			if it.Decode(&p) != nil || p.Status != PaymentPending || p.OrderID == "" {
				continue
			}
			if p.AttemptAt.Before(cutoff) {
				out = append(out, p)
			}
		}
		if next == "" || len(items) == 0 {
			return out, nil
		}
		token = next
	}
}
