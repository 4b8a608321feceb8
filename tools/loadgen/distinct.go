package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

// result is what one run measured.
type result struct {
	listed     int
	elapsed    time.Duration
	orders     *series // POST /api/orders latency, successful ones
	errors     map[string]int
	reserved   *series // order created -> ticket shows the order
	unreserved int     // sampled orders whose reservation never showed
	memory     memorySample
}

// runDistinct lists a pool of tickets, waits until orders knows them, then
// lets the buyers order distinct tickets as fast as they can.
func runDistinct(ctx context.Context, o options) (*result, error) {
	r := &result{orders: newSeries(), reserved: newSeries(), errors: map[string]int{}}
	seller, err := crowd.SignUp(ctx, o.url, "seller")
	if err != nil {
		return nil, fmt.Errorf("the seller could not sign up: %w", err)
	}
	buyers := make([]*crowd.Shopper, o.buyers)
	for i := range buyers {
		if buyers[i], err = crowd.SignUp(ctx, o.url, "buyer"); err != nil {
			return nil, fmt.Errorf("buyer %d could not sign up: %w", i, err)
		}
	}

	fmt.Fprintf(os.Stderr, "loadgen: listing %d tickets\n", o.tickets)
	ids, err := listTickets(ctx, seller, o.tickets)
	if err != nil {
		return nil, err
	}
	r.listed = len(ids)
	// Orders learns of tickets through events: the last one listed being
	// orderable means (nearly) all are; stragglers count as 404s below.
	fmt.Fprintln(os.Stderr, "loadgen: waiting until orders knows the tickets")
	probe := buyers[0]
	last := ids[len(ids)-1]
	ids = ids[:len(ids)-1]
	for {
		status, _, err := probe.Call(ctx, "POST", "/api/orders", map[string]string{"ticketId": last}, nil)
		if err == nil && status == http.StatusCreated {
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}

	fmt.Fprintf(os.Stderr, "loadgen: %d buyers ordering for up to %s\n", o.buyers, o.duration)
	var next atomic.Int64
	var mu sync.Mutex
	var watchers sync.WaitGroup
	runCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	mem := startMemorySampler(runCtx, 500*time.Millisecond)
	paced := pace(runCtx, o.rate, o.buyers)
	start := time.Now()
	var wg sync.WaitGroup
	for _, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				if paced != nil {
					select {
					case <-paced:
					case <-runCtx.Done():
						return
					}
				}
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				var created struct{ ID string }
				status, took, err := b.Call(runCtx, "POST", "/api/orders", map[string]string{"ticketId": ids[i]}, &created)
				at := time.Now()
				mu.Lock()
				switch {
				case err != nil && runCtx.Err() != nil:
				case err != nil:
					r.errors["transport: "+err.Error()]++
				case status == http.StatusCreated:
					r.orders.add(took)
				default:
					r.errors[fmt.Sprintf("POST /api/orders %d", status)]++
				}
				mu.Unlock()
				if status == http.StatusCreated && o.sample > 0 && i%o.sample == 0 {
					watchers.Add(1)
					go func(ticketID, orderID string) {
						defer watchers.Done()
						d, ok := watchReservation(ctx, seller, ticketID, orderID, at)
						mu.Lock()
						if ok {
							r.reserved.add(d)
						} else {
							r.unreserved++
						}
						mu.Unlock()
					}(ids[i], created.ID)
				}
			}
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	cancel()
	watchers.Wait()
	r.memory = mem.wait()
	return r, nil
}

// pace hands out perSecond tokens a second until ctx ends, nil when
// perSecond is 0 (no pacing). At most burst tokens wait unclaimed, so buyers
// that fell behind catch up by that many orders, not by a flood.
func pace(ctx context.Context, perSecond float64, burst int) <-chan struct{} {
	if perSecond <= 0 {
		return nil
	}
	tokens := make(chan struct{}, burst)
	go func() {
		start := time.Now()
		interval := time.Duration(float64(time.Second) / perSecond)
		t := time.NewTicker(min(interval, time.Millisecond))
		defer t.Stop()
		handed := 0
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				for due := int(now.Sub(start) / interval); handed < due; handed++ {
					select {
					case tokens <- struct{}{}:
					default: // every buyer is busy: this order is skipped, not queued
					}
				}
			}
		}
	}()
	return tokens
}

// watchReservation polls the ticket until it carries the order, and returns
// how long after the order's 201 that was.
func watchReservation(ctx context.Context, s *crowd.Shopper, ticketID, orderID string, created time.Time) (time.Duration, bool) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var tk struct{ OrderID string }
		if status, _, err := s.Call(ctx, "GET", "/api/tickets/"+ticketID, nil, &tk); err == nil && status == 200 && tk.OrderID == orderID {
			return time.Since(created), true
		}
		time.Sleep(crowd.WatchEvery)
	}
	return 0, false
}

// listTickets lists n tickets with a few parallel sellers' requests.
func listTickets(ctx context.Context, seller *crowd.Shopper, n int) ([]string, error) {
	ids := make([]string, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				var tk struct{ ID string }
				status, _, err := seller.Call(ctx, "POST", "/api/tickets", map[string]any{"title": fmt.Sprintf("Load test %d", i), "price": 10}, &tk)
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("POST /api/tickets: status %d", status)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				ids[i] = tk.ID
			}
		}()
	}
	wg.Wait()
	return ids, firstErr
}
