package check

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
	"github.com/tixmesh/ticketing/tools/mesh"
)

// Sources say where the checker reads beyond the public origin.
type Sources struct {
	// PaymentsSidecar is the payments sidecar's HTTP address
	// (http://127.0.0.1:3504), read through Dapr's state API: payments has
	// no public read API. "" leaves the payments invariants out.
	PaymentsSidecar string
	PaymentsStore   string // default payments-store
	// Charges returns the Stripe charges counted at the edge, and the
	// transfers to sellers (nil: not counted).
	Charges func(context.Context) ([]Charge, []Transfer, error)
	// Deliveries reads the broker's stream and the subscribers' handled
	// deliveries (nil: not counted).
	Deliveries func(context.Context) (*Deliveries, error)
}

// Read takes a snapshot of every service's state, through the public origin
// as the crowd's own users (each buyer's orders, each listed ticket) and the
// sources given.
func Read(ctx context.Context, l *crowd.Ledger, src Sources) (*Snapshot, error) {
	s := &Snapshot{At: time.Now(), Orders: map[string]OrderView{}, Tickets: map[string]TicketView{}}
	var mu sync.Mutex
	err := parallel(ctx, len(l.Buyers), func(i int) error {
		var os []OrderView
		status, _, err := l.Buyers[i].Call(ctx, "GET", "/api/orders", nil, &os)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("GET /api/orders: status %d", status)
		}
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, o := range os {
			s.Orders[o.ID] = o
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = parallel(ctx, len(l.Tickets), func(i int) error {
		var t TicketView
		status, _, err := l.Sellers[0].Call(ctx, "GET", "/api/tickets/"+l.Tickets[i], nil, &t)
		if err == nil && status != http.StatusOK && status != http.StatusNotFound {
			err = fmt.Errorf("GET /api/tickets/%s: status %d", l.Tickets[i], status)
		}
		if err != nil || status == http.StatusNotFound {
			return err
		}
		mu.Lock()
		s.Tickets[t.ID] = t
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	if src.PaymentsSidecar != "" {
		if s.Payments, err = readPayments(ctx, src, s.Orders); err != nil {
			return nil, err
		}
	}
	if src.Charges != nil {
		if s.Charges, s.Transfers, err = src.Charges(ctx); err != nil {
			return nil, fmt.Errorf("the Stripe charges: %w", err)
		}
		if s.Charges == nil {
			s.Charges = []Charge{}
		}
		if s.Transfers == nil {
			s.Transfers = []Transfer{}
		}
	}
	if src.Deliveries != nil {
		if s.Deliveries, err = src.Deliveries(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readPayments bulk-reads payments' copy of each order and its payment.
func readPayments(ctx context.Context, src Sources, orders map[string]OrderView) (map[string]PaymentView, error) {
	store := src.PaymentsStore
	if store == "" {
		store = "payments-store"
	}
	keys := make([]string, 0, len(orders))
	for id := range orders {
		keys = append(keys, "payment|"+id)
	}
	out := map[string]PaymentView{}
	for len(keys) > 0 {
		n := min(len(keys), 400)
		body, _ := json.Marshal(map[string]any{"keys": keys[:n], "parallelism": 8})
		keys = keys[n:]
		req, err := http.NewRequestWithContext(ctx, "POST", src.PaymentsSidecar+"/v1.0/state/"+store+"/bulk", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("payments' state: %w", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("payments' state: status %d: %s", resp.StatusCode, b)
		}
		var items []struct {
			Key   string          `json:"key"`
			Data  json.RawMessage `json:"data"`
			Error string          `json:"error"`
		}
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, fmt.Errorf("payments' state: %w", err)
		}
		for _, it := range items {
			if it.Error != "" {
				return nil, fmt.Errorf("payments' state %s: %s", it.Key, it.Error)
			}
			if len(it.Data) == 0 || string(it.Data) == "null" {
				continue
			}
			var v struct {
				Status   string `json:"status"`
				StripeID string `json:"stripeId"`
				Amount   int64  `json:"amount"`
				Fee      int64  `json:"fee"`
				SellerID string `json:"sellerId"`
				Transfer string `json:"transfer"`
			}
			if err := json.Unmarshal(it.Data, &v); err != nil {
				return nil, fmt.Errorf("payments' state %s: %w", it.Key, err)
			}
			_, id, _ := strings.Cut(it.Key, "|")
			out[id] = PaymentView{PaymentStatus: v.Status, StripeID: v.StripeID, Amount: v.Amount, Fee: v.Fee, SellerID: v.SellerID, Transfer: v.Transfer}
		}
	}
	return out, nil
}

// parallel runs f(0..n-1) on 16 workers and returns the first error.
func parallel(ctx context.Context, n int, f func(int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		next  int
		first error
	)
	for range min(16, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil || i >= n || ctx.Err() != nil
				mu.Unlock()
				if stop {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// Converge reads snapshots until every invariant holds or limit passes, and
// returns the last verdicts, the snapshot they judged and how long the
// system took to settle. Reads that fail (a service still restarting) are
// retried.
func Converge(ctx context.Context, l *crowd.Ledger, src Sources, b Bounds, limit time.Duration, progress io.Writer) ([]Result, *Snapshot, time.Duration, error) {
	start := time.Now()
	var last []Result
	var snap *Snapshot
	var lastErr error
	for {
		s, err := Read(ctx, l, src)
		if err == nil {
			snap, last, lastErr = s, Evaluate(s, l, b), nil
			if Passed(last) {
				return last, snap, time.Since(start), nil
			}
		} else {
			lastErr = err
		}
		if time.Since(start) > limit || ctx.Err() != nil {
			if snap == nil {
				return nil, nil, time.Since(start), fmt.Errorf("no snapshot could be read in %s: %w", limit, lastErr)
			}
			return last, snap, time.Since(start), nil
		}
		if progress != nil {
			var failing []string
			for _, r := range last {
				if !r.Pass {
					failing = append(failing, fmt.Sprintf("%s (%d, e.g. %s)", r.Name, r.Count, r.Violations[0]))
				}
			}
			if lastErr != nil {
				failing = append(failing, "read error: "+lastErr.Error())
			}
			fmt.Fprintf(progress, "check: %.0f s: not yet: %s\n", time.Since(start).Seconds(), strings.Join(failing, "; "))
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

// ChargesOf is what Stripe took (each PaymentIntent that succeeded) and gave
// back (each refund, repeats under one idempotency key aside), and what the
// platform sent sellers (each transfer and reversal), as the mesh's recorder
// holds them.
func ChargesOf(intents []mesh.StripeIntent, calls []mesh.StripeCall) ([]Charge, []Transfer) {
	charges, transfers := []Charge{}, []Transfer{}
	for _, in := range intents {
		if in.Status == "succeeded" {
			charges = append(charges, Charge{OrderID: in.OrderID, IntentID: in.ID, Amount: in.Amount, Destination: in.Destination, Fee: in.Fee})
		}
	}
	for _, c := range calls {
		if c.Method != http.MethodPost || c.Status/100 != 2 || c.Replayed {
			continue
		}
		switch {
		case strings.HasPrefix(c.Path, "/v1/refunds"):
			charges = append(charges, Charge{OrderID: c.OrderID, IntentID: c.IntentID, Amount: c.Amount, Refund: true, ReverseTransfer: c.ReverseTransfer})
		case c.Outcome == "transferred":
			transfers = append(transfers, Transfer{OrderID: c.OrderID, Destination: c.Destination, Amount: c.Amount})
		case c.Outcome == "reversed":
			transfers = append(transfers, Transfer{OrderID: c.OrderID, Amount: c.Amount, Reversal: true})
		}
	}
	return charges, transfers
}
