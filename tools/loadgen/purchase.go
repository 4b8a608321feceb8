package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/baseline"
	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

// The purchase scenario is the buyer's whole path, as a buyer feels it: no
// tickets listed in advance; each loop's seller lists a ticket, its buyer
// orders it at once and pays at once, never waiting for an event, in a
// closed loop.

// The endpoints of a purchase, in its order.
const (
	epList  = "POST /api/tickets"
	epOrder = "POST /api/orders"
	epPay   = "POST /api/payments"
)

var purchaseEndpoints = []string{epList, epOrder, epPay}

// purchaseResult is what the purchase scenario measured.
type purchaseResult struct {
	users   int
	elapsed time.Duration
	// loops counts the purchases (listed, ordered, paid: three 201s); failed
	// the loops a non-2xx answer, or none, ended (failedAt: by the endpoint
	// that ended them; errors: by endpoint and status, or kind of failure).
	loops, failed int
	failedAt      map[string]int
	errors        map[string]int
	// latency: each endpoint's 2xx answers; answers: every answer by status
	// (0: none).
	latency map[string]crowd.Series
	answers map[string]map[int]int
	// ordered: from the start of the listing to the order's 201, per loop
	// that got that far; paid: to the payment's 201, per purchase.
	ordered, paid crowd.Series

	memory  memorySample
	selfCPU float64 // the load generator's own CPU seconds over the load

	baseline    *baseline.PurchaseResult
	baselineErr error
	// baselineCPU: CPU seconds of the mesh's NATS, PostgreSQL and
	// stripe-mock, and the load generator's own, during the baseline.
	baselineCPU    float64
	baselineWindow time.Duration
}

func newPurchaseResult(users int) *purchaseResult {
	r := &purchaseResult{users: users, failedAt: map[string]int{}, errors: map[string]int{},
		latency: map[string]crowd.Series{}, answers: map[string]map[int]int{}}
	for _, e := range purchaseEndpoints {
		r.answers[e] = map[int]int{}
	}
	return r
}

// purchaser runs the loops and keeps their books.
type purchaser struct {
	mu     sync.Mutex
	r      *purchaseResult
	done   atomic.Int64 // purchases, for the progress line
	failed atomic.Int64
}

// loop is one purchase: the seller lists, the buyer orders it and pays. Any
// answer but a 2xx ends the loop as failed; the caller goes on with a fresh
// ticket. ctx bounds the requests (the run's end lets those in flight
// finish).
func (p *purchaser) loop(ctx context.Context, seller, buyer *crowd.Shopper, n int64) {
	began := time.Now()
	var ticket struct{ ID string }
	if !p.call(ctx, seller, epList, "/api/tickets", map[string]any{"title": fmt.Sprintf("Purchase %d", n), "price": 10}, &ticket) {
		return
	}
	var order struct{ ID string }
	if !p.call(ctx, buyer, epOrder, "/api/orders", map[string]string{"ticketId": ticket.ID}, &order) {
		return
	}
	ordered := time.Now()
	p.mu.Lock()
	p.r.ordered = append(p.r.ordered, ordered.Sub(began))
	p.mu.Unlock()
	if !p.call(ctx, buyer, epPay, "/api/payments", map[string]string{"token": "tok_visa", "orderId": order.ID}, nil) {
		return
	}
	paid := time.Now()
	p.mu.Lock()
	p.r.paid = append(p.r.paid, paid.Sub(began))
	p.r.loops++
	p.mu.Unlock()
	p.done.Add(1)
}

// call makes one request of a loop and books it; false ends the loop.
func (p *purchaser) call(ctx context.Context, s *crowd.Shopper, endpoint, path string, body, out any) bool {
	status, took, err := s.Call(ctx, "POST", path, body, out)
	if err != nil && ctx.Err() != nil {
		return false // stopped (Ctrl-C): not the system's failure
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err != nil && status/100 == 2:
		// answered, but not with what a loop needs to go on
		p.r.answers[endpoint][status]++
		p.r.errors[endpoint+": "+err.Error()]++
	case err != nil:
		p.r.answers[endpoint][0]++
		p.r.errors[endpoint+": "+crowd.ErrorKind(err)]++
	case status/100 != 2:
		p.r.answers[endpoint][status]++
		p.r.errors[fmt.Sprintf("%s %d", endpoint, status)]++
	default:
		p.r.answers[endpoint][status]++
		p.r.latency[endpoint] = append(p.r.latency[endpoint], took)
		return true
	}
	p.r.failed++
	p.r.failedAt[endpoint]++
	p.failed.Add(1)
	return false
}

// runLoops runs one loop per (seller, buyer) pair until running ends or
// maxLoops loops have started (0: no count bound), each loop waiting for a
// token from paced when it is not nil. Progress lines go to progress every
// 5 s.
func (p *purchaser) runLoops(ctx, running context.Context, sellers, buyers []*crowd.Shopper, maxLoops int, paced <-chan struct{}, progress io.Writer) {
	var started atomic.Int64
	start := time.Now()
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				secs := time.Since(start).Seconds()
				fmt.Fprintf(progress, "loadgen: %3.0f s: %d purchases (%.0f/s), %d failed loops\n",
					secs, p.done.Load(), float64(p.done.Load())/secs, p.failed.Load())
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Go(func() {
			for running.Err() == nil && ctx.Err() == nil {
				if paced != nil {
					select {
					case <-paced:
					case <-running.Done():
						return
					}
				}
				n := started.Add(1)
				if maxLoops > 0 && n > int64(maxLoops) {
					return
				}
				p.loop(ctx, sellers[i], buyers[i], n)
			}
		})
	}
	wg.Wait()
	p.r.elapsed = time.Since(start)
	close(stop)
	<-ticked
}

// runPurchase signs a seller and a buyer up for each of o.buyers loops, runs
// the loops for o.duration (or o.loops purchases) while sampling the mesh's
// processes, then runs the same purchases directly for the baseline.
func runPurchase(ctx context.Context, o options) (*purchaseResult, error) {
	if o.baseline {
		for _, u := range []struct{ flag, url string }{{"-nats-url", o.natsURL}, {"-pg-url", o.pgURL}, {"-stripe-url", o.stripeURL}} {
			if err := crowd.CheckLoopback(u.url); u.url != "" && err != nil {
				return nil, fmt.Errorf("%s: %w", u.flag, err)
			}
		}
	}
	r := newPurchaseResult(o.buyers)
	fmt.Fprintf(os.Stderr, "loadgen: signing up %d sellers and %d buyers\n", o.buyers, o.buyers)
	sellers := make([]*crowd.Shopper, o.buyers)
	buyers := make([]*crowd.Shopper, o.buyers)
	for i := range o.buyers {
		var err error
		if sellers[i], err = crowd.SignUp(ctx, o.url, "seller"); err != nil {
			return nil, fmt.Errorf("seller %d could not sign up: %w", i, err)
		}
		if buyers[i], err = crowd.SignUp(ctx, o.url, "buyer"); err != nil {
			return nil, fmt.Errorf("buyer %d could not sign up: %w", i, err)
		}
	}

	fmt.Fprintf(os.Stderr, "loadgen: %d loops of list, order, pay for up to %s\n", o.buyers, o.duration)
	running, stopRunning := context.WithTimeout(ctx, o.duration)
	defer stopRunning()
	sampling, stopSampling := context.WithCancel(ctx)
	mem := startMemorySampler(sampling, 500*time.Millisecond)
	cpu0 := cpuSeconds("/proc/self")
	p := &purchaser{r: r}
	p.runLoops(ctx, running, sellers, buyers, o.loops, pace(running, o.rate, o.buyers), os.Stderr)
	r.selfCPU = cpuSeconds("/proc/self") - cpu0
	stopSampling()
	r.memory = mem.wait()

	if o.baseline && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "loadgen: baseline: the same purchases straight to NATS (%s), PostgreSQL and stripe-mock (%s), %d loops for %s\n",
			o.natsURL, o.stripeURL, o.buyers, o.baselineDuration)
		sampling, stopSampling := context.WithCancel(ctx)
		mem := startMemorySampler(sampling, 500*time.Millisecond)
		cpu0 := cpuSeconds("/proc/self")
		bo := baseline.PurchaseOptions{NATSURL: o.natsURL, PostgresURL: o.pgURL, Users: o.buyers,
			Duration: o.baselineDuration, Loops: o.loops, StripeURL: o.stripeURL}
		if o.rate > 0 {
			// The baseline's loops are paced as the mesh's were.
			pacing, stop := context.WithTimeout(ctx, o.baselineDuration+time.Minute)
			defer stop()
			tokens := pace(pacing, o.rate, o.buyers)
			bo.Pace = func(ctx context.Context) bool {
				select {
				case <-tokens:
					return true
				case <-ctx.Done():
					return false
				}
			}
		}
		r.baseline, r.baselineErr = baseline.RunPurchase(ctx, bo)
		self := cpuSeconds("/proc/self") - cpu0
		stopSampling()
		m := mem.wait()
		r.baselineCPU, r.baselineWindow = self, m.Window
		for name, secs := range m.CPU {
			if m.kind(name) == "infrastructure" {
				r.baselineCPU += secs
			}
		}
	}
	return r, nil
}

// loopsPerSecond is the purchases' rate over the load.
func (r *purchaseResult) loopsPerSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.loops) / r.elapsed.Seconds()
}
