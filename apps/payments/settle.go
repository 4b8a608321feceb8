package main

import (
	"context"
	"errors"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/tixmesh/ticketing/apps/pkg/invoke"
)

// Settling an attempt whose request is gone (it died, or Stripe never
// answered it, or the buyer never came back from authenticating), and whose
// order orders may want to end. Stripe is asked what became of the attempt's
// intent, never asked to take money on anyone's behalf: an intent that
// succeeded is recorded; one that is still waiting for its buyer is left
// alone until the action window is over; anything else is cancelled at
// Stripe (so nothing can succeed later) and ends the attempt as taking no
// money.

// resolve tells how an open attempt ends, cancelling its intent at Stripe when
// it took no money. It answers invoke.Pending while the attempt may still be
// under way (its request may be paying; the buyer may be authenticating;
// Stripe is processing, or cannot be reached); with invoke.Succeeded, the
// intent whose money was taken.
func (p *payer) resolve(ctx context.Context, a Payment, now time.Time) (outcome string, _ Intent) {
	if a.Status == PaymentPending && now.Before(a.AttemptAt.Add(p.takeoverAfter)) {
		return invoke.Pending, Intent{}
	}
	in, err := p.stripe.find(ctx, a)
	if err != nil {
		return invoke.Pending, Intent{}
	}
	switch in.Status {
	case stripe.PaymentIntentStatusSucceeded:
		return invoke.Succeeded, in
	case stripe.PaymentIntentStatusProcessing:
		return invoke.Pending, Intent{}
	case stripe.PaymentIntentStatusRequiresAction:
		if now.Before(a.AttemptAt.Add(p.actionWindow)) {
			return invoke.Pending, Intent{}
		}
	}
	if in.Status != stripe.PaymentIntentStatusCanceled {
		if in, err = p.stripe.cancel(ctx, in.ID); err != nil {
			return invoke.Pending, Intent{}
		}
		if in.Status == stripe.PaymentIntentStatusSucceeded { // it succeeded just before
			return invoke.Succeeded, in
		}
	}
	return invoke.Failed, Intent{}
}

// settle answers orders, which is about to end an order it held for a
// payment whose lease is over: Succeeded (recorded: orders completes the
// order), Failed (no money was taken, and none ever will be for this order:
// the payment is abandoned, so that no later claim can start) or Pending
// (ask again later).
func (p *payer) settle(ctx context.Context, orderID string, now time.Time) (string, error) {
	cur, found, err := p.payments.payment(ctx, orderID)
	if err != nil {
		return "", err
	}
	switch {
	case found && cur.Status == PaymentSucceeded:
		return invoke.Succeeded, nil
	case found && !cur.Status.open():
		return invoke.Failed, nil // refunded, or abandoned already
	case !found:
		// No attempt: its request died before it claimed. None may start now.
		if cur, err = p.payments.abandon(ctx, orderID, Payment{}, now); err != nil {
			return "", err
		}
		if cur.Status != PaymentAbandoned {
			return p.settle(ctx, orderID, now) // one claimed meanwhile
		}
		return invoke.Failed, nil
	}
	outcome, in := p.resolve(ctx, cur, now)
	switch outcome {
	case invoke.Succeeded:
		if _, ok, err := p.payments.succeed(ctx, cur, in); err != nil || !ok {
			return invoke.Pending, err
		}
		return invoke.Succeeded, nil
	case invoke.Failed:
		gone, err := p.payments.abandon(ctx, orderID, cur, now)
		if err != nil {
			return "", err
		}
		if gone.Status == PaymentSucceeded {
			return invoke.Succeeded, nil
		}
		return invoke.Failed, nil
	}
	return invoke.Pending, nil
}

// reconcileEvery settles, every interval, the attempts whose requests are
// gone: those claimed longer ago than the takeover window and still open.
func (p *payer) reconcileEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.reconcile(ctx, time.Now())
			p.sendTransfers(ctx, nil) // those account.updated could not send
		}
	}
}

// reconcile settles every open attempt claimed before the takeover window
// once, and returns how many it ended: the money taken is recorded and
// orders told (the order completes); an attempt that took none is released
// and orders told (the order is payable again, or cancelled if its time is
// up).
func (p *payer) reconcile(ctx context.Context, now time.Time) int {
	stale, err := p.payments.openBefore(ctx, now.Add(-p.takeoverAfter))
	if err != nil {
		p.log.WarnContext(ctx, "reconcile: could not list open payments", "err", err)
		return 0
	}
	n := 0
	for _, a := range stale {
		outcome, in := p.resolve(ctx, a, now)
		switch outcome {
		case invoke.Succeeded:
			if _, err := p.succeeded(ctx, a, in); err != nil && !errors.Is(err, ErrNotPayable) {
				p.log.WarnContext(ctx, "reconcile: payment not recorded yet", "order", a.OrderID, "err", err)
				continue
			}
		case invoke.Failed:
			p.failed(ctx, a)
		default:
			continue
		}
		p.log.InfoContext(ctx, "reconcile: settled an abandoned payment", "order", a.OrderID, "outcome", outcome)
		n++
	}
	return n
}
