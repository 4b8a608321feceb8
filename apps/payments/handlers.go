package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// charger makes one charge with the payment provider and returns its id. Its
// errors are ErrNotCharged (certainly no charge: release the claim) or
// anything else (the charge may exist: keep the claim).
type charger interface {
	charge(ctx context.Context, c Charge) (stripeID string, err error)
	refund(ctx context.Context, r Refund) error
}

// recordTimeout bounds recording a charge that succeeded.
const recordTimeout = 10 * time.Second

// paymentResponse is the original's answer: the payment id.
type paymentResponse struct {
	ID string `json:"id"`
}

// handleCreatePayment pays for an order exactly once: it claims the order
// (creating its pending payment), charges, and records the success with
// payment:created in one commit: 201 {id}. 404 unknown order, 401 someone
// else's, 400 cancelled or already paid, 409 while another request for the
// order is charging, 400 for a declined card, 503 if Stripe cannot be reached.
func handleCreatePayment(log *slog.Logger, cfg config, payments *paymentStore, charges charger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.DecodeValid[paymentRequest](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		user, _ := auth.FromContext(r.Context()) // auth.Require ran first
		ctx := r.Context()
		order, err := payments.awaitOrder(ctx, strings.TrimSpace(in.OrderID))
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		if err := order.checkPayable(user.ID); err != nil {
			web.Error(w, r, log, err)
			return
		}
		now := time.Now()
		claim, err := payments.claim(ctx, newClaim(order, user.ID, in.Token, now), now, cfg.TakeoverAfter)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		p, err := pay(ctx, log, cfg, payments, charges, order, claim)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusCreated, paymentResponse{ID: p.ID})
	})
}

// pay charges a claimed order and records the outcome. Once the claim is
// held, the work runs to its end even if the buyer hangs up (the context keeps
// the request's values but not its cancellation): a charge abandoned halfway
// would leave its outcome unknown. The charge must end by the time the claim
// may be taken over, so that a takeover never overlaps a live attempt.
func pay(ctx context.Context, log *slog.Logger, cfg config, payments *paymentStore, charges charger, order Order, claim Payment) (Payment, error) {
	chargeCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), claim.AttemptAt.Add(cfg.TakeoverAfter))
	stripeID, err := charges.charge(chargeCtx, claim.charge())
	cancel()

	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err != nil {
		if errors.Is(err, ErrNotCharged) {
			// Nothing was charged: free the order for another card. If this
			// fails, the claim is taken over after the window instead.
			if rerr := payments.release(recordCtx, claim); rerr != nil {
				log.WarnContext(ctx, "could not release the claim of a refused charge", "order", order.ID, "err", rerr)
			}
		}
		return Payment{}, err
	}
	// Cancelled (expired) while the charge was in flight: the money goes
	// back, and no payment is announced.
	if cur, err := payments.order(recordCtx, order.ID); err == nil && cur.Status == events.OrderStatusCancelled {
		if err := refundClaim(recordCtx, log, payments, charges, claim, stripeID); err != nil {
			return Payment{}, err
		}
		return Payment{}, ErrOrderCancelled
	}
	c := Confirmation{OrderID: order.ID, PaymentID: claim.ID, StripeID: stripeID, Amount: claim.Amount}
	p, err := payments.confirm(recordCtx, c, order, time.Now())
	if err != nil {
		return Payment{}, err
	}
	// The cancellation may have committed just now, after the check above:
	// whichever of this and the cancellation's handler commits second sees
	// the other and refunds.
	if cancelled, err := refundIfCancelled(recordCtx, log, payments, charges, p.OrderID); err != nil {
		return Payment{}, err
	} else if cancelled {
		return Payment{}, ErrOrderCancelled
	}
	return p, nil
}
