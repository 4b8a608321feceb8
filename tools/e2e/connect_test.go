package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/tools/mesh"
)

// sales is a seller's GET /api/payments/sales.
type sales struct {
	Sales []struct {
		OrderID  string  `json:"orderId"`
		Amount   float64 `json:"amount"`
		Fee      float64 `json:"fee"`
		Share    float64 `json:"share"`
		Status   string  `json:"status"`
		Transfer string  `json:"transfer"`
	} `json:"sales"`
	Gross   float64 `json:"gross"`
	Fees    float64 `json:"fees"`
	Net     float64 `json:"net"`
	Paid    float64 `json:"paid"`
	Pending float64 `json:"pending"`
}

func salesOf(t testing.TB, seller *user) sales {
	t.Helper()
	var s sales
	seller.do("GET", "/api/payments/sales", nil).want(t, 200).json(t, &s)
	return s
}

// stripeCallsFor returns an order's calls to Stripe with an outcome
// ("transferred", "reversed", ...), not counting replays.
func stripeCallsFor(orderID, outcome string) []mesh.StripeCall {
	var out []mesh.StripeCall
	for _, c := range the.StripeCalls() {
		if c.OrderID == orderID && c.Outcome == outcome && !c.Replayed {
			out = append(out, c)
		}
	}
	return out
}

// A seller is paid through Stripe Connect. Before they connect a payout
// account, the money of a sale waits on the platform; connecting (an Express
// account, Stripe's hosted onboarding, account.updated) sends it, once;
// sales after that are destination charges with the platform's fee (10%) as
// the application fee; a refund made at Stripe takes the sent share back.
func TestSellersArePaidThroughConnect(t *testing.T) {
	seller, buyer := signedUp(t), signedUp(t)
	buy := func(price float64) order {
		t.Helper()
		tk := listTicket(t, seller, "Connect show", price)
		var o order
		buyer.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201).json(t, &o)
		buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).want(t, 201)
		return o
	}

	// Not connected: the share waits.
	o1 := buy(20)
	seller.do("GET", "/api/payments/sellers/me", nil).want(t, 404)
	if s := salesOf(t, seller); len(s.Sales) != 1 || s.Gross != 20 || s.Fees != 2 || s.Pending != 18 || s.Paid != 0 {
		t.Fatalf("sales before connecting %+v, want $20 sold, $2 fee, $18 pending", s)
	}
	if n := len(stripeCallsFor(o1.ID, "transferred")); n != 0 {
		t.Fatalf("%d transfers before the seller connected, want 0", n)
	}

	// Connect: an account and an onboarding link, which (Stripe's hosted
	// onboarding; the test-mode Stripe's page here) sends the seller back.
	var acct struct {
		AccountID string `json:"accountId"`
		Ready     bool   `json:"ready"`
		URL       string `json:"url"`
	}
	seller.do("POST", "/api/payments/sellers", map[string]string{}).want(t, 201).json(t, &acct)
	if !strings.HasPrefix(acct.AccountID, "acct_") || acct.Ready || acct.URL == "" {
		t.Fatalf("connect answered %+v, want a new account, not ready, with an onboarding link", acct)
	}
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(acct.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != baseURL+"/sellers/me" {
		t.Fatalf("onboarding answered %d to %q, want 303 to the Get paid page", resp.StatusCode, resp.Header.Get("Location"))
	}

	// account.updated: ready, and the waiting share is sent, once.
	eventually(t, 10*time.Second, "the seller's account to be ready", func() bool {
		r := seller.do("GET", "/api/payments/sellers/me", nil)
		return r.status == 200 && strings.Contains(string(r.body), `"ready":true`)
	})
	eventually(t, 10*time.Second, "the waiting share to be paid", func() bool {
		s := salesOf(t, seller)
		return s.Paid == 18 && s.Pending == 0
	})
	sent := stripeCallsFor(o1.ID, "transferred")
	if len(sent) != 1 || sent[0].Amount != 1800 || sent[0].Destination != acct.AccountID {
		t.Fatalf("transfers for %s: %+v, want one of 1800 to %s", o1.ID, sent, acct.AccountID)
	}

	// From now on, destination charges: the fee is exact in cents.
	o2 := buy(33.33)
	var in mesh.StripeIntent
	for _, i := range the.StripeIntents() {
		if i.OrderID == o2.ID && i.Status == "succeeded" {
			in = i
		}
	}
	if in.Destination != acct.AccountID || in.Fee != 333 || in.Amount != 3333 {
		t.Errorf("intent of %s: %+v, want a destination charge to %s, 3333 with fee 333", o2.ID, in, acct.AccountID)
	}
	if n := len(stripeCallsFor(o2.ID, "transferred")); n != 0 {
		t.Errorf("%d transfers for a destination charge, want 0 (the money went with the charge)", n)
	}
	if s := salesOf(t, seller); len(s.Sales) != 2 || s.Gross != 53.33 || s.Fees != 5.33 || s.Paid != 48 || s.Pending != 0 {
		t.Errorf("sales %+v, want $53.33 sold, $5.33 fees, $48 paid", s)
	}

	// A refund made at Stripe (the Dashboard) takes the sent share back, once
	// however often Stripe sends the event.
	secret, err := the.Secret("stripe-webhook-secret")
	if err != nil {
		t.Fatal(err)
	}
	intent := intentOf(t, o1.ID)
	payload := fmt.Sprintf(`{"id":"evt_refund_%s","object":"event","api_version":"2023-10-16","type":"charge.refunded","created":%d,`+
		`"data":{"object":{"id":"ch_%s","object":"charge","amount":2000,"refunded":true,"payment_intent":"%s","metadata":{"orderId":"%s"}}}}`,
		o1.ID, time.Now().Unix(), o1.ID, intent, o1.ID)
	for range 2 {
		if got := postWebhook(t, payload, signedWebhook(t, secret, payload, time.Now())); got != 200 {
			t.Fatalf("charge.refunded: status %d, want 200", got)
		}
	}
	if back := stripeCallsFor(o1.ID, "reversed"); len(back) != 1 || back[0].Amount != 1800 {
		t.Errorf("reversals for %s: %+v, want one of 1800", o1.ID, back)
	}
	if s := salesOf(t, seller); s.Gross != 33.33 || s.Paid != 30 {
		t.Errorf("sales after the refund %+v, want only the second sale counted", s)
	}
}
