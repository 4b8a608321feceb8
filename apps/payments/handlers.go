package main

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// paymentResponse is the original's answer, the payment id; an attempt that
// waits for its buyer to authenticate also says so, with what Stripe.js
// needs to ask them.
type paymentResponse struct {
	ID           string        `json:"id"`
	Status       PaymentStatus `json:"status,omitempty"`
	ClientSecret string        `json:"clientSecret,omitempty"`
	// NextActionURL is the bank's page where the buyer authenticates without
	// Stripe.js; it sends them back to the order's page.
	NextActionURL string `json:"nextActionUrl,omitempty"`
}

// handleCreatePayment pays for an order exactly once (see pay.go): 201 {id}
// once the money is taken; 202 {id, status, clientSecret} when the buyer's
// bank asks them to authenticate (Stripe.js completes it; the webhook then
// completes the order); 404 unknown order, 401 someone else's, 400 cancelled
// (or past its deadline) or already paid, 409 while another request for the
// order is paying, 400 for a declined card, 503 if Stripe or orders cannot be
// reached.
func handleCreatePayment(log *slog.Logger, payer *payer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.DecodeValid[paymentRequest](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		user, _ := auth.FromContext(r.Context()) // auth.Require ran first
		p, err := payer.start(r.Context(), in.OrderID.Trimmed(), user.ID, in.Token.Trimmed(), time.Now())
		switch {
		case errors.Is(err, errActionRequired):
			web.JSON(w, http.StatusAccepted, paymentResponse{ID: p.ID, Status: p.Status, ClientSecret: p.ClientSecret, NextActionURL: p.NextActionURL})
		case err != nil:
			web.Error(w, r, log, err)
		default:
			web.JSON(w, http.StatusCreated, paymentResponse{ID: p.ID})
		}
	})
}
