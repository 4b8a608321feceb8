package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

// lateness is expiration's own account of how late its reminders fired
// (GET /debug/lateness on the expiration app, not routed publicly).
type lateness struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func getLateness(ctx context.Context, url string) (lateness, error) {
	var l lateness
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return l, err
	}
	defer resp.Body.Close()
	return l, json.NewDecoder(resp.Body).Decode(&l)
}

// expireResult is what an expiration run measured.
type expireResult struct {
	placed      int
	placing     time.Duration
	lastExpiry  time.Time
	before      lateness
	after       lateness
	memory      memorySample
	unexpired   int
	checkedLate time.Duration
	// shown is how long after its deadline each sampled order showed
	// cancelled to its buyer (GET /api/orders/:id); unseen never did.
	shown  crowd.Series
	unseen int
}

// runExpire places n orders spread evenly over spread and leaves them unpaid;
// once every deadline has passed it reads expiration's lateness and checks
// that every order was cancelled.
func runExpire(ctx context.Context, o options) (*expireResult, error) {
	r := &expireResult{}
	if !strings.HasPrefix(o.latenessURL, "http://127.") && !strings.HasPrefix(o.latenessURL, "http://localhost") {
		return nil, fmt.Errorf("-lateness-url %q: want the expiration app's loopback /debug/lateness", o.latenessURL)
	}
	var err error
	if r.before, err = getLateness(ctx, o.latenessURL); err != nil {
		return nil, fmt.Errorf("expiration's /debug/lateness: %w", err)
	}
	seller, err := crowd.SignUp(ctx, o.url, "seller")
	if err != nil {
		return nil, err
	}
	buyers := make([]*crowd.Shopper, o.buyers)
	for i := range buyers {
		if buyers[i], err = crowd.SignUp(ctx, o.url, "buyer"); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(os.Stderr, "loadgen: listing %d tickets\n", o.orders)
	ids, err := listTickets(ctx, seller, o.orders)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "loadgen: placing %d orders over %s\n", o.orders, o.spread)
	interval := o.spread / time.Duration(o.orders)
	start := time.Now()
	type placed struct {
		buyer   *crowd.Shopper
		id      string
		expires time.Time
	}
	orders := make([]placed, 0, o.orders)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var failed atomic.Int64
	var watchers sync.WaitGroup
	tick := time.NewTicker(max(interval, time.Microsecond))
	for i, id := range ids {
		<-tick.C
		b := buyers[i%len(buyers)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			var created struct {
				ID        string    `json:"id"`
				ExpiresAt time.Time `json:"expiresAt"`
			}
			status, _, err := b.Call(ctx, "POST", "/api/orders", map[string]string{"ticketId": id}, &created)
			if err != nil || status != http.StatusCreated {
				failed.Add(1)
				return
			}
			mu.Lock()
			orders = append(orders, placed{b, created.ID, created.ExpiresAt})
			mu.Unlock()
			if o.sample > 0 && i%o.sample == 0 {
				watchers.Go(func() {
					d, ok := watchCancelled(ctx, b, created.ID, created.ExpiresAt)
					mu.Lock()
					defer mu.Unlock()
					if ok {
						r.shown = append(r.shown, d)
					} else {
						r.unseen++
					}
				})
			}
		}()
	}
	tick.Stop()
	wg.Wait()
	r.placing = time.Since(start)
	r.placed = len(orders)
	if f := failed.Load(); f > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: %d orders failed to place\n", f)
	}
	for _, p := range orders {
		if p.expires.After(r.lastExpiry) {
			r.lastExpiry = p.expires
		}
	}

	// Wait for the deadlines, sampling memory while the reminders are pending.
	fmt.Fprintf(os.Stderr, "loadgen: waiting for %d deadlines (the last at %s)\n", r.placed, r.lastExpiry.Format(time.TimeOnly))
	waitCtx, cancel := context.WithDeadline(ctx, r.lastExpiry.Add(5*time.Second))
	mem := startMemorySampler(waitCtx, time.Second)
	<-waitCtx.Done()
	cancel()
	r.memory = mem.wait()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if r.after, err = getLateness(ctx, o.latenessURL); err != nil {
			return nil, err
		}
		if r.after.Count-r.before.Count >= r.placed || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Every order must now be cancelled.
	checkStart := time.Now()
	for _, p := range orders {
		var got struct{ Status string }
		if status, _, err := p.buyer.Call(ctx, "GET", "/api/orders/"+p.id, nil, &got); err != nil || status != 200 || got.Status != "cancelled" {
			r.unexpired++
		}
	}
	r.checkedLate = time.Since(checkStart)
	watchers.Wait()
	return r, nil
}

// watchCancelled waits for the order's deadline, then polls the order as its
// buyer until it shows cancelled, and returns how long after the deadline
// that was.
func watchCancelled(ctx context.Context, b *crowd.Shopper, orderID string, deadline time.Time) (time.Duration, bool) {
	select {
	case <-time.After(time.Until(deadline)):
	case <-ctx.Done():
		return 0, false
	}
	for limit := deadline.Add(time.Minute); time.Now().Before(limit) && ctx.Err() == nil; time.Sleep(crowd.WatchEvery) {
		var got struct{ Status string }
		if status, _, err := b.Call(ctx, "GET", "/api/orders/"+orderID, nil, &got); err == nil && status == http.StatusOK && got.Status == "cancelled" {
			return time.Since(deadline), true
		}
	}
	return 0, false
}

func (r *expireResult) markdown(o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Expiration: %d unpaid orders, deadlines spread over %s\n\n", o.orders, o.spread)
	fmt.Fprintf(&b, "Run: `go run ./tools/loadgen -scenario expire -orders %d -spread %s -lateness-url %s`, %s.\n\n",
		o.orders, o.spread, o.latenessURL, time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| orders placed | %d in %.1f s |\n", r.placed, r.placing.Seconds())
	fmt.Fprintf(&b, "| expirations recorded by the expiration app | %d |\n", r.after.Count-r.before.Count)
	if r.before.Count == 0 {
		fmt.Fprintf(&b, "| **lateness after the deadline p50 / p90 / p99 / max** | **%.0f / %.0f / %.0f / %.0f ms** |\n", r.after.P50, r.after.P90, r.after.P99, r.after.Max)
	} else {
		fmt.Fprintf(&b, "| lateness (includes %d earlier expirations: use a fresh mesh) p50 / p99 / max | %.0f / %.0f / %.0f ms |\n", r.before.Count, r.after.P50, r.after.P99, r.after.Max)
	}
	if len(r.shown)+r.unseen > 0 {
		fmt.Fprintf(&b, "| **order shows cancelled to its buyer, after its deadline** (every %dth order, polled every %v) p50 / p90 / p99 / max | **%s / %s / %s / %s** (%d sampled, %d never seen) |\n",
			o.sample, crowd.WatchEvery, ms(r.shown.Pct(.5)), ms(r.shown.Pct(.9)), ms(r.shown.Pct(.99)), ms(r.shown.Pct(1)), len(r.shown), r.unseen)
	}
	fmt.Fprintf(&b, "| orders not cancelled afterwards | %d |\n", r.unexpired)
	fmt.Fprintf(&b, "| peak memory while waiting, apps + sidecars: PSS / RSS sum | %.0f MiB / %.0f MiB |\n", r.memory.AppsAndSidecarsPSS, r.memory.AppsAndSidecars)
	fmt.Fprintf(&b, "| peak RSS while waiting, scheduler | %.0f MiB |\n", r.memory.PerProcess["scheduler"])
	fmt.Fprintf(&b, "| peak RSS while waiting, all daprd | %.0f MiB |\n", r.memory.Sidecars)
	return b.String()
}
