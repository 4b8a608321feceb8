package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// connectRequest is the body of POST /api/payments/sellers: where Stripe's
// onboarding sends the seller back (returnUrl), or when the link has
// expired (refreshUrl). Both default to the public origin's "Get paid" page.
type connectRequest struct {
	ReturnURL  web.Text `json:"returnUrl"`
	RefreshURL web.Text `json:"refreshUrl"`
}

func (r connectRequest) Validate() map[string]string {
	p := map[string]string{}
	for field, u := range map[string]web.Text{"returnUrl": r.ReturnURL, "refreshUrl": r.RefreshURL} {
		if s := u.Trimmed(); s != "" && !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
			p[field] = "Must be an absolute http(s) URL"
		}
	}
	return p
}

// sellerResponse is a seller's payout account as the API shows it.
type sellerResponse struct {
	AccountID string `json:"accountId"`
	Ready     bool   `json:"ready"`
	Payouts   bool   `json:"payouts"`
	// URL is Stripe's onboarding link, when one was just made.
	URL string `json:"url,omitempty"`
}

var errNoSellerAccount = apperr.New(apperr.NotFound, "Not Found")

// handleConnect connects the signed-in seller's payout account: an Express
// account at Stripe (made once) and a fresh onboarding link to it: 201 the
// first time, 200 after.
func handleConnect(log *slog.Logger, payer *payer, publicURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.DecodeValid[connectRequest](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		user, _ := auth.FromContext(r.Context())
		back := strings.TrimSuffix(publicURL, "/") + "/sellers/me"
		s, created, err := payer.connect(r.Context(), user.ID)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		url, err := payer.stripe.accountLink(r.Context(), s.AccountID, or(in.RefreshURL.Trimmed(), back), or(in.ReturnURL.Trimmed(), back))
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		web.JSON(w, status, sellerResponse{AccountID: s.AccountID, Ready: s.Ready, Payouts: s.Payouts, URL: url})
	})
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// connect returns the seller's payout account, making it at Stripe (once,
// under an idempotency key per seller) if there is none.
func (p *payer) connect(ctx context.Context, sellerID string) (Seller, bool, error) {
	if s, found, err := p.payments.seller(ctx, sellerID); err != nil || found {
		return s, false, err
	}
	acct, err := p.stripe.createAccount(ctx, sellerID)
	if err != nil {
		return Seller{}, false, err
	}
	s, err := store.Apply(ctx, p.payments.db, sellerChange(sellerID, func(cur Seller, found bool) (*Seller, error) {
		if found {
			return nil, nil
		}
		return &Seller{UserID: sellerID, AccountID: acct, UpdatedAt: time.Now().UTC()}, nil
	}))
	return s, err == nil, err
}

// handleSeller answers the signed-in seller's payout account, or 404.
func handleSeller(log *slog.Logger, payer *payer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := auth.FromContext(r.Context())
		s, found, err := payer.payments.seller(r.Context(), user.ID)
		if err == nil && !found {
			err = errNoSellerAccount
		}
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.JSON(w, http.StatusOK, sellerResponse{AccountID: s.AccountID, Ready: s.Ready, Payouts: s.Payouts})
	})
}

// sale is one payment for one of the seller's tickets, in dollars.
type sale struct {
	OrderID  string         `json:"orderId"`
	Amount   float64        `json:"amount"`
	Fee      float64        `json:"fee"`
	Share    float64        `json:"share"`
	Status   PaymentStatus  `json:"status"`
	Transfer TransferStatus `json:"transfer,omitempty"`
	At       time.Time      `json:"at"`
}

// salesResponse is a seller's sales, with what the platform kept and what
// the seller gets.
type salesResponse struct {
	Sales []sale  `json:"sales"`
	Gross float64 `json:"gross"`
	Fees  float64 `json:"fees"`
	Net   float64 `json:"net"`
	Paid  float64 `json:"paid"`    // transferred to the seller's account
	Owed  float64 `json:"pending"` // waiting for the seller to connect
}

// handleSales answers the signed-in seller's sales: every paid (or
// refunded) payment for their tickets, newest first, with the totals.
func handleSales(log *slog.Logger, payer *payer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := auth.FromContext(r.Context())
		ps, err := payer.payments.salesOf(r.Context(), user.ID)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		out := salesResponse{Sales: []sale{}}
		var gross, fees, net, paid, owed int64 // summed in cents, shown in dollars
		for _, p := range ps {
			if p.Status != PaymentSucceeded && p.Status != PaymentRefunded {
				continue
			}
			out.Sales = append(out.Sales, sale{OrderID: p.OrderID, Amount: dollars(p.Amount), Fee: dollars(p.Fee),
				Share: dollars(p.Share()), Status: p.Status, Transfer: p.Transfer, At: p.AttemptAt})
			if p.Status != PaymentSucceeded {
				continue
			}
			gross, fees, net = gross+p.Amount, fees+p.Fee, net+p.Share()
			switch p.Transfer {
			case TransferWithCharge, TransferSent:
				paid += p.Share()
			case TransferPending:
				owed += p.Share()
			}
		}
		out.Gross, out.Fees, out.Net, out.Paid, out.Owed = dollars(gross), dollars(fees), dollars(net), dollars(paid), dollars(owed)
		sortNewestFirst(out.Sales)
		web.JSON(w, http.StatusOK, out)
	})
}

func dollars(cents int64) float64 { return float64(cents) / 100 }

func sortNewestFirst(ss []sale) {
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && ss[j].At.After(ss[j-1].At); j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
}

// accountUpdated records what Stripe says of a seller's account; once it can
// receive transfers, the shares waiting for it are sent.
func (p *payer) accountUpdated(ctx context.Context, sellerID, accountID string, ready, payouts, submitted bool) error {
	s, err := store.Apply(ctx, p.payments.db, sellerChange(sellerID, func(cur Seller, found bool) (*Seller, error) {
		if found && cur.AccountID != accountID {
			return nil, nil // another account of ours (a stale one): not this seller's now
		}
		next := Seller{UserID: sellerID, AccountID: accountID, Ready: ready, Payouts: payouts, Submitted: submitted, UpdatedAt: time.Now().UTC()}
		if found && cur == next {
			return nil, nil
		}
		return &next, nil
	}))
	if err != nil {
		return err
	}
	p.destinations.forget(sellerID)
	if s.Ready && s.AccountID == accountID {
		p.sendTransfers(ctx, map[string]Seller{sellerID: s})
	}
	return nil
}

// sendTransfers sends every waiting seller share whose seller can now receive
// it (sellers: those known ready; nil: look each up), once per order.
func (p *payer) sendTransfers(ctx context.Context, sellers map[string]Seller) int {
	pending, err := p.payments.pendingTransfers(ctx)
	if err != nil {
		p.log.WarnContext(ctx, "transfers: could not list the pending ones", "err", err)
		return 0
	}
	n := 0
	for _, pay := range pending {
		s, ok := sellers[pay.SellerID]
		if !ok && sellers == nil {
			s, ok, err = p.payments.seller(ctx, pay.SellerID)
			if err != nil {
				continue
			}
		}
		if !ok || !s.Ready {
			continue
		}
		id, err := p.stripe.transfer(ctx, pay, s.AccountID)
		if err != nil {
			p.log.WarnContext(ctx, "transfers: not sent yet", "order", pay.OrderID, "err", err)
			continue
		}
		now, err := p.payments.sent(ctx, pay.OrderID, id)
		if err != nil {
			p.log.WarnContext(ctx, "transfers: sent, not recorded yet", "order", pay.OrderID, "transfer", id, "err", err)
			continue
		}
		if now.Transfer != TransferSent || now.TransferID != id {
			// Refunded while the share was on its way: it comes back.
			if err := p.stripe.reverse(ctx, id, pay.Share(), "reversal-"+pay.OrderID); err != nil {
				p.log.WarnContext(ctx, "transfers: a refunded payment's share must be reversed", "order", pay.OrderID, "transfer", id, "err", err)
			}
			continue
		}
		n++
	}
	return n
}
