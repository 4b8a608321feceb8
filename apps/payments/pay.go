package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/invoke"
	"github.com/tixmesh/ticketing/apps/pkg/tracing"
)

// How an order is paid, exactly once, and never when it is not payable.
//
// orders is the authority on an order's status, so a payment starts there:
// orders holds the order for it (awaiting:payment; a cancelled or expired
// order is refused with the original's 400, before Stripe is ever called)
// and says what to charge. Then the attempt claims the order here (a
// create-only record: concurrent requests never both reach Stripe), creates
// its PaymentIntent and confirms it. The outcome goes back to orders: paid
// (complete), or took no money (payable again). While the order is held,
// orders cancels neither on its buyer's request nor on expiry; once its
// lease is over it asks payments to settle (settle.go), which decides, with
// Stripe's word, whether the money was taken, and makes sure none ever is
// after it said no. The request, Stripe's webhook and the reconciler all end
// an attempt through succeeded and failed below, so whichever comes first
// completes the order once.

// orderOwner is orders, as payments asks it (package invoke).
type orderOwner interface {
	Pay(ctx context.Context, orderID, userID string) (invoke.Payable, error)
	Paid(ctx context.Context, orderID string, r invoke.PaidRequest) error
	Unpaid(ctx context.Context, orderID string) error
}

// payer is what every path that moves money shares.
type payer struct {
	log      *slog.Logger
	payments *paymentStore
	stripe   provider
	orders   orderOwner
	// takeoverAfter: an attempt claimed longer ago is no longer being paid
	// by its request (its charge ends by then); actionWindow: how long a
	// buyer has to authenticate before the attempt is given up.
	takeoverAfter, actionWindow time.Duration
	// feeBP is the platform's fee, in basis points of each payment.
	feeBP int64
	// destinations is where each seller's payments go, remembered briefly.
	destinations *destinations
}

// recordTimeout bounds recording an outcome once the money moved.
const recordTimeout = 10 * time.Second

// start pays for an order as its buyer: orders holds it, the attempt claims
// it, and attempt pays it.
func (p *payer) start(ctx context.Context, orderID, userID, method string, now time.Time) (Payment, error) {
	o, err := p.orders.Pay(ctx, orderID, userID)
	if err != nil {
		return Payment{}, err
	}
	if tracing.Valid(o.TraceParent) {
		// The rest of the payment is the purchase's: its trace continues.
		ctx = tracing.WithParent(ctx, o.TraceParent)
	}
	// A seller who can receive transfers is paid with the charge itself.
	destination, err := p.destinations.of(ctx, o.SellerID, p.payments.seller)
	if err != nil {
		return Payment{}, err
	}
	claim, err := p.payments.claim(ctx, newAttempt(o.ID, userID, o.SellerID, o.Price, method, now, p.feeBP, destination))
	if errors.Is(err, errActionRequired) && claim.UserID == userID {
		return claim, errActionRequired // this buyer's own attempt, waiting for them
	}
	if err != nil {
		return Payment{}, err
	}
	return p.attempt(ctx, claim)
}

// attempt pays a claimed attempt and ends it by Stripe's answer. Once the
// claim is held, the work runs to its end even if the buyer hangs up (the
// context keeps the request's values but not its cancellation): an attempt
// abandoned halfway would leave its outcome unknown. It must end by the time
// the attempt counts as abandoned, so that the settling never overlaps it.
func (p *payer) attempt(ctx context.Context, a Payment) (Payment, error) {
	payCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), a.AttemptAt.Add(p.takeoverAfter))
	in, err := p.stripe.pay(payCtx, a)
	cancel()
	ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	switch {
	case errors.Is(err, ErrNotCharged):
		p.failed(ctx, a)
		return Payment{}, err
	case err != nil:
		return Payment{}, err // kept: the settling finds out
	}
	switch in.Status {
	case stripe.PaymentIntentStatusSucceeded:
		return p.succeeded(ctx, a, in)
	case stripe.PaymentIntentStatusRequiresAction:
		w, err := p.payments.await(ctx, a, in, PaymentRequiresAction)
		if err != nil {
			return Payment{}, err
		}
		return w, errActionRequired
	case stripe.PaymentIntentStatusProcessing:
		w, err := p.payments.await(ctx, a, in, PaymentProcessing)
		if err != nil {
			return Payment{}, err
		}
		return w, errActionRequired
	default: // requires_payment_method: the card was declined
		p.failed(ctx, a)
		return Payment{}, ErrCardDeclined
	}
}

// succeeded records that the attempt's money was taken (payment:created) and
// tells orders, which completes the order. An attempt that is no longer the
// order's payment, or an order orders had cancelled, gets its money back:
// ErrNotPayable.
func (p *payer) succeeded(ctx context.Context, a Payment, in Intent) (Payment, error) {
	done, ok, err := p.payments.succeed(ctx, a, in)
	if err != nil {
		return Payment{}, err
	}
	if !ok {
		p.log.WarnContext(ctx, "money taken for an attempt payments gave up; refunding", "order", a.OrderID, "intent", in.ID)
		if err := p.stripe.refund(ctx, Refund{IntentID: in.ID, OrderID: a.OrderID, IdempotencyKey: "refund-" + a.OrderID + "-" + a.ID,
			ReverseTransfer: a.Destination != ""}); err != nil {
			return Payment{}, err
		}
		return Payment{}, ErrNotPayable
	}
	err = p.tellPaid(ctx, a.OrderID, invoke.PaidRequest{PaymentID: done.ID, StripeID: done.StripeID})
	switch {
	case err == nil, invoke.IsUnreachable(err):
		return done, nil // unreachable: payment:created completes it
	case apperr.CodeOf(err) == apperr.Conflict:
		// The order was cancelled: only a payment that outlived its
		// settlement can land here. The money goes back.
		p.log.WarnContext(ctx, "payment for a cancelled order; refunding", "order", a.OrderID, "intent", in.ID)
		if err := p.refundPaid(ctx, a.OrderID); err != nil {
			return Payment{}, err
		}
		return Payment{}, ErrNotPayable
	default:
		return done, nil
	}
}

// paidRetries is how often orders is told again that an order was paid when
// it answered at once with a failure of its own (its store lost a race it
// could not win in time, a restart): the buyer who got 201 then finds the
// order complete, not still awaiting its payment until payment:created
// arrives. A call that timed out is not repeated: the event completes it.
const paidRetries = 2

// tellPaid tells orders an order was paid. Completing is idempotent, so a
// failed answer may be asked again.
func (p *payer) tellPaid(ctx context.Context, orderID string, r invoke.PaidRequest) error {
	for try := 0; ; try++ {
		start := time.Now()
		err := p.orders.Paid(ctx, orderID, r)
		if !invoke.IsUnreachable(err) || try == paidRetries || time.Since(start) > time.Second {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try+1) * 50 * time.Millisecond):
		}
	}
}

// failed ends an attempt that took no money: the claim goes, and orders makes
// the order payable again (or cancels it, if its time is up). If orders
// cannot be told, it asks once the lease is over, and the settling answers.
func (p *payer) failed(ctx context.Context, a Payment) {
	if err := p.payments.release(ctx, a); err != nil {
		p.log.WarnContext(ctx, "could not release an attempt that took no money", "order", a.OrderID, "err", err)
		return
	}
	if err := p.orders.Unpaid(ctx, a.OrderID); err != nil {
		p.log.WarnContext(ctx, "could not tell orders a payment took no money", "order", a.OrderID, "err", err)
	}
}

// refundPaid gives back the money of the order's succeeded payment and
// records it. The refund's idempotency key is per order: the paths that may
// refund one payment make one refund between them.
func (p *payer) refundPaid(ctx context.Context, orderID string) error {
	cur, found, err := p.payments.payment(ctx, orderID)
	if err != nil || !found || cur.Status != PaymentSucceeded {
		return err
	}
	if err := p.stripe.refund(ctx, refundOf(cur)); err != nil {
		return err
	}
	if cur.Transfer == TransferSent {
		// Sent after the charge: the seller's share comes back by a reversal.
		if err := p.stripe.reverse(ctx, cur.TransferID, cur.Share(), "reversal-"+orderID); err != nil {
			return err
		}
	}
	_, err = p.payments.markRefunded(ctx, orderID)
	return err
}
