package crowd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// errNoConnect: the marketplace answers 404 to connecting a payout account.
var errNoConnect = errors.New("the marketplace has no payouts (404)")

// noRedirects answers a redirect as it is: onboarding's last step sends the
// seller back to the web client's page, which the crowd does not need.
var noRedirects = &http.Client{Transport: transport, Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Connect connects the seller's payout account as a seller does from the
// "Get paid" page: payments makes a Stripe Express account and an onboarding
// link, and the seller completes Stripe's onboarding (the test-mode Stripe's
// page locally, which then tells payments by account.updated).
func (s *Shopper) Connect(ctx context.Context) error {
	var a struct {
		URL string `json:"url"`
	}
	status, _, err := s.Call(ctx, "POST", "/api/payments/sellers", map[string]string{}, &a)
	if err != nil {
		return err
	}
	if status == http.StatusNotFound {
		return errNoConnect
	}
	if (status != http.StatusCreated && status != http.StatusOK) || a.URL == "" {
		return fmt.Errorf("POST /api/payments/sellers: status %d, link %q", status, a.URL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return err
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode/100 != 3 {
		return fmt.Errorf("onboarding: status %d", resp.StatusCode)
	}
	return nil
}

// connectFor bounds how long the crowd tries to connect one seller.
const connectFor = 2 * time.Minute

// connect connects a seller, trying again (a service may be down, in a fault
// run) for up to connectFor; the ledger records it once done. A seller who
// could not connect is left unconnected: their shares wait, which the
// checker expects of them.
func (c *crowd) connect(ctx context.Context, s *Shopper) {
	ctx, cancel := context.WithTimeout(ctx, connectFor)
	defer cancel()
	delay := 500 * time.Millisecond
	for ctx.Err() == nil {
		err := s.Connect(ctx)
		if err == nil {
			c.l.connected(s.ID, time.Now())
			fmt.Fprintf(c.o.Progress, "crowd: seller %s connected a payout account\n", s.ID)
			return
		}
		fmt.Fprintf(c.o.Progress, "crowd: seller %s could not connect yet: %v\n", s.ID, err)
		if errors.Is(err, errNoConnect) {
			return // this marketplace has no payouts (an older version)
		}
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}
