package crowd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// watchLimit bounds how long a propagation is watched before it counts as
// never seen.
const watchLimit = 30 * time.Second

// WatchEvery is how often a watcher polls: a propagation is seen at most this
// much after it happened. Polling harder measures the load it makes (every
// poll crosses the gateway, an app, its sidecar and its store).
const WatchEvery = 10 * time.Millisecond

// watch polls path (as s) in the background until seen accepts the answer,
// and records how long after since that was.
func (c *crowd) watch(ctx context.Context, s *Shopper, path string, seen func([]byte) bool, since time.Time, into *Series) {
	c.watchers.Add(1)
	go func() {
		defer c.watchers.Done()
		// The watch outlives the load phase, not the run.
		ctx := context.WithoutCancel(ctx)
		deadline := time.Now().Add(watchLimit)
		for time.Now().Before(deadline) {
			var raw json.RawMessage
			if status, _, err := s.Call(ctx, "GET", path, nil, &raw); err == nil && status == http.StatusOK && seen(raw) {
				d := time.Since(since)
				c.l.update(func() { *into = append(*into, d) })
				return
			}
			time.Sleep(WatchEvery)
		}
		c.l.update(func() { c.l.Unseen++ })
	}()
}

// containsField reports whether the JSON object b has field == want.
func containsField(b []byte, field, want string) bool {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	v, _ := m[field].(string)
	return v == want
}

// ErrorKind names a transport error without its addresses, so that errors
// of one kind count together.
func ErrorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "EOF"):
		return "connection closed (EOF)"
	}
	return err.Error()
}

// list lists n tickets, a few at a time, spread over the sellers.
func (l *Ledger) list(ctx context.Context, n int) ([]string, error) {
	ids := make([]string, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := range min(8, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seller := l.Sellers[w%len(l.Sellers)]
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				var tk struct{ ID string }
				at := time.Now()
				status, took, err := seller.Call(ctx, "POST", "/api/tickets", map[string]any{"title": fmt.Sprintf("Crowd ticket %d", i), "price": Price(i)}, &tk)
				r := Request{At: at, Endpoint: "POST /api/tickets", Status: status, Latency: took}
				if err != nil {
					r.Status, r.Err = 0, ErrorKind(err)
				}
				l.request(r)
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
	if firstErr != nil {
		return nil, firstErr
	}
	l.update(func() { l.Tickets = append(l.Tickets, ids...) })
	return ids, nil
}

// waitOrderable orders the last ticket of the pool until orders knows it.
// The probe's order is a real one and is recorded.
func (c *crowd) waitOrderable(ctx context.Context) error {
	last := c.pool[len(c.pool)-1]
	c.pool = c.pool[:len(c.pool)-1]
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		if o, _ := c.order(ctx, c.l.Buyers[0], 0, last, false); o != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("orders never learnt of ticket %s: %w", last, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Price is the crowd's i-th ticket's price: whole dollars and cents from
// $10.00 to $99.93, so that a fee rounds to the cent (10% of $33.35 is
// $3.335: $3.34).
func Price(i int) float64 { return float64(1000+(i%90)*100+(i*7)%100) / 100 }
