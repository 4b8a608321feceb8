// Package crowd drives the marketplace's public origin like a crowd: sellers
// list tickets; buyers order distinct tickets as fast as they can while
// racers pounce on hot tickets all at once; some orders are paid, some
// cancelled, the rest left to expire. The first seller connects a payout
// account before the load (their sales are destination charges), the second
// halfway through it (their earlier shares wait, then are sent), the others
// never (their shares wait). It records every request and every
// order in a Ledger, for the load report and the fault checker.
package crowd

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Options shape the crowd. Bounded in count (Tickets, HotRounds) and time
// (Duration): the load stops at whichever comes first.
type Options struct {
	URL      string
	Sellers  int
	Buyers   int // concurrent buyers of distinct tickets
	Racers   int // buyers who race for each hot ticket at once (0: no races)
	Duration time.Duration
	Tickets  int           // distinct tickets listed before the load
	HotEvery time.Duration // a new hot ticket this often
	// PayShare of orders are paid, CancelShare cancelled by their buyer; the
	// rest are left to expire.
	PayShare, CancelShare float64
	// Sample: watch every Nth order until its ticket shows it reserved, and
	// every Nth payment until its order shows complete (0: none).
	Sample int
	Seed   uint64
	// Refill: when the pool runs dry, each buyer lists a fresh ticket and
	// orders that (long runs); otherwise the buyers stop.
	Refill bool
	// OnLoad, when set, is called as the load begins (after the setup).
	OnLoad func()
	// Progress receives a line every ProgressEvery (default 5 s).
	Progress      io.Writer
	ProgressEvery time.Duration
}

func (o *Options) defaults() {
	if o.Sellers <= 0 {
		o.Sellers = 4
	}
	if o.Buyers <= 0 {
		o.Buyers = 20
	}
	if o.HotEvery <= 0 {
		o.HotEvery = 500 * time.Millisecond
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
}

// Run signs the crowd up, lists the tickets, and lets it loose for
// o.Duration. It returns the ledger even when the load phase saw errors;
// only a failed setup is an error.
func Run(ctx context.Context, o Options) (*Ledger, error) {
	o.defaults()
	if err := CheckLoopback(o.URL); err != nil {
		return nil, err
	}
	l := &Ledger{}
	fmt.Fprintf(o.Progress, "crowd: signing up %d sellers, %d buyers and %d racers\n", o.Sellers, o.Buyers, o.Racers)
	for i := range o.Sellers {
		s, err := SignUp(ctx, o.URL, "seller")
		if err != nil {
			return nil, fmt.Errorf("seller %d: %w", i, err)
		}
		l.Sellers = append(l.Sellers, s)
	}
	for i := range o.Buyers + o.Racers {
		s, err := SignUp(ctx, o.URL, "buyer")
		if err != nil {
			return nil, fmt.Errorf("buyer %d: %w", i, err)
		}
		l.Buyers = append(l.Buyers, s)
	}
	fmt.Fprintf(o.Progress, "crowd: listing %d tickets\n", o.Tickets)
	pool, err := l.list(ctx, o.Tickets)
	if err != nil {
		return nil, err
	}
	c := &crowd{o: o, l: l, pool: pool}
	if len(l.Sellers) > 1 {
		c.connect(ctx, l.Sellers[0])
	}
	if len(pool) > 0 {
		// Orders learns of tickets through events; the last one listed
		// being orderable means (nearly) all are.
		fmt.Fprintln(o.Progress, "crowd: waiting until orders knows the tickets")
		if err := c.waitOrderable(ctx); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(o.Progress, "crowd: %d buyers and %d racers for up to %s\n", o.Buyers, o.Racers, o.Duration)
	c.load(ctx)
	return l, nil
}

type crowd struct {
	o        Options
	l        *Ledger
	pool     []string
	next     atomic.Int64
	watchers sync.WaitGroup
	placed   atomic.Int64
	paid     atomic.Int64
	rounds   atomic.Int64
	failed   atomic.Int64
}

func (c *crowd) load(ctx context.Context) {
	runCtx, cancel := context.WithTimeout(ctx, c.o.Duration)
	defer cancel()
	c.l.Start = time.Now()
	if c.o.OnLoad != nil {
		c.o.OnLoad()
	}
	var wg sync.WaitGroup
	// The load ends by starting no new request; those in flight finish
	// (under ctx) and are recorded, so the ledger misses no order.
	for i := range c.o.Buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.buyer(ctx, runCtx, i, rand.New(rand.NewPCG(c.o.Seed, uint64(i))))
		}()
	}
	if c.o.Racers > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.hot(ctx, runCtx, rand.New(rand.NewPCG(c.o.Seed, 1<<32)))
		}()
	}
	if len(c.l.Sellers) > 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select { // halfway, or when the load ends sooner
			case <-runCtx.Done():
			case <-time.After(c.o.Duration / 2):
			}
			c.connect(ctx, c.l.Sellers[1])
		}()
	}
	done := make(chan struct{})
	go c.progress(runCtx, done)
	wg.Wait()
	c.l.End = time.Now()
	cancel()
	<-done
	c.watchers.Wait()
}

func (c *crowd) progress(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(c.o.ProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			secs := time.Since(c.l.Start).Seconds()
			fmt.Fprintf(c.o.Progress, "crowd: %3.0f s: %d orders (%.0f/s), %d paid, %d hot rounds, %d failed requests\n",
				secs, c.placed.Load(), float64(c.placed.Load())/secs, c.paid.Load(), c.rounds.Load(), c.failed.Load())
		}
	}
}

// buyer orders distinct tickets from the pool until it or the time runs out.
func (c *crowd) buyer(ctx, running context.Context, i int, rng *rand.Rand) {
	b := c.l.Buyers[i]
	for running.Err() == nil && ctx.Err() == nil {
		n := int(c.next.Add(1)) - 1
		ticket := ""
		switch {
		case n < len(c.pool):
			ticket = c.pool[n]
		case !c.o.Refill:
			return
		default:
			ids, err := c.l.list(ctx, 1)
			if err != nil {
				c.failed.Add(1)
				time.Sleep(100 * time.Millisecond) // a failing listing: do not spin
				continue
			}
			ticket = ids[0]
		}
		o := c.placeOrder(ctx, b, i, ticket, false)
		if o == nil {
			continue
		}
		dice := rng.Float64()
		// A watched order is not cancelled by its buyer: the ticket could be
		// released before the watch sees it reserved.
		if c.o.Sample > 0 && n%c.o.Sample == 0 && !c.cancels(dice) {
			c.watch(ctx, c.l.Sellers[0], "/api/tickets/"+o.TicketID, func(b []byte) bool { return containsField(b, "orderId", o.ID) }, o.CreatedAt, &c.l.Reserved)
		}
		c.settle(ctx, b, o, n, dice)
	}
}

// hot lists a fresh ticket every HotEvery and lets every racer order it at
// the same instant: at most one may win.
func (c *crowd) hot(ctx, running context.Context, rng *rand.Rand) {
	t := time.NewTicker(c.o.HotEvery)
	defer t.Stop()
	for round := 0; running.Err() == nil && ctx.Err() == nil; round++ {
		ids, err := c.l.list(ctx, 1)
		if err != nil || len(ids) == 0 {
			if ctx.Err() == nil {
				c.failed.Add(1)
			}
			select {
			case <-running.Done():
				return
			case <-t.C:
			}
			continue
		}
		hr := HotRound{TicketID: ids[0], Statuses: map[int]int{}}
		var mu sync.Mutex
		var won []*Order
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for r := range c.o.Racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				idx := c.o.Buyers + r
				o, status := c.order(ctx, c.l.Buyers[idx], idx, ids[0], true)
				mu.Lock()
				defer mu.Unlock()
				hr.Statuses[status]++
				if o != nil {
					won = append(won, o)
				}
			}()
		}
		close(gate)
		wg.Wait()
		c.l.update(func() { c.l.HotRounds = append(c.l.HotRounds, hr) })
		c.rounds.Add(1)
		for _, o := range won {
			c.settle(ctx, c.l.Buyers[o.Buyer], o, round, rng.Float64())
		}
		select {
		case <-running.Done():
			return
		case <-t.C:
		}
	}
}

func (c *crowd) placeOrder(ctx context.Context, b *Shopper, buyer int, ticketID string, hot bool) *Order {
	o, _ := c.order(ctx, b, buyer, ticketID, hot)
	return o
}

// order places one order and records it when it is answered 201.
func (c *crowd) order(ctx context.Context, b *Shopper, buyer int, ticketID string, hot bool) (*Order, int) {
	var created struct {
		ID        string    `json:"id"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	status, ok := c.call(ctx, b, "POST", "/api/orders", "POST /api/orders", map[string]string{"ticketId": ticketID}, &created)
	if !ok || status != http.StatusCreated {
		return nil, status
	}
	o := &Order{ID: created.ID, TicketID: ticketID, Buyer: buyer, Hot: hot, CreatedAt: time.Now(), ExpiresAt: created.ExpiresAt}
	c.l.order(o)
	c.placed.Add(1)
	return o, status
}

// cancels reports whether the dice make the buyer cancel.
func (c *crowd) cancels(dice float64) bool {
	return dice >= c.o.PayShare && dice < c.o.PayShare+c.o.CancelShare
}

// settle pays for, cancels, or abandons an order, as the dice (0..1) say.
func (c *crowd) settle(ctx context.Context, b *Shopper, o *Order, n int, dice float64) {
	switch p := dice; {
	case p < c.o.PayShare:
		var paid struct{ ID string }
		status, ok := c.call(ctx, b, "POST", "/api/payments", "POST /api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}, &paid)
		at := time.Now()
		c.l.update(func() {
			o.PayStatuses = append(o.PayStatuses, status)
			if ok && status == http.StatusCreated {
				o.Paid, o.PaymentID = true, paid.ID
			}
		})
		if ok && status == http.StatusCreated {
			c.paid.Add(1)
			if c.o.Sample > 0 && n%c.o.Sample == 0 {
				c.watch(ctx, b, "/api/orders/"+o.ID, func(b []byte) bool { return containsField(b, "status", "complete") }, at, &c.l.Completed)
			}
		}
	case p < c.o.PayShare+c.o.CancelShare:
		status, ok := c.call(ctx, b, "DELETE", "/api/orders/"+o.ID, "DELETE /api/orders/:id", nil, nil)
		if ok && status/100 == 2 {
			c.l.update(func() { o.Cancelled = true })
		}
	}
}

// call makes one request and records it; ok is false when the run's context
// ended it (not the system's fault, not recorded).
func (c *crowd) call(ctx context.Context, b *Shopper, method, path, endpoint string, body, out any) (int, bool) {
	at := time.Now()
	status, took, err := b.Call(ctx, method, path, body, out)
	if err != nil && ctx.Err() != nil {
		return 0, false
	}
	r := Request{At: at, Endpoint: endpoint, Status: status, Latency: took}
	if err != nil {
		r.Status, r.Err = 0, ErrorKind(err)
	}
	if r.Status == 0 || r.Status >= 500 {
		c.failed.Add(1)
	}
	c.l.request(r)
	return r.Status, r.Status != 0
}
