// Package baseline runs the marketplace's order workload with no mesh: Go
// straight to NATS JetStream and PostgreSQL, no sidecar, no HTTP between the
// services. It mirrors the storage and messaging steps of each order, with
// the same durability (JetStream file storage, synchronous publish
// acknowledgements, PostgreSQL commits, manual acks on consume), so that the
// benchmark report can state the mesh's overhead as a ratio against it.
//
// Per order, as the services do it:
//   - orders (POST /api/orders, timed): read its ticket copy; one transaction
//     reserving the copy by version check, creating the order, indexing it
//     under the buyer and recording order:created in the outbox; publish.
//   - tickets: on order:created, reserve the ticket (version check) with
//     ticket:updated in the outbox, in one transaction; publish.
//   - orders: on ticket:updated, bring its copy to that version.
//   - expiration: on order:created, keep a schedule row.
//
// RunPurchase runs the buyer's whole path instead (purchase.go): each user
// lists a ticket, orders it at once and pays at once, as the load
// generator's purchase scenario does through the mesh.
//
// The events are the services' own: topics, payloads and event ids come from
// apps/pkg/events, whose golden files guard the baseline's messages too.
//
// Everything lives in its own stream (BASELINE, subjects baseline.>) and its
// own database (baseline, one schema per service), so a run never touches the
// mesh's TICKETING stream or the services' databases. One run (Run or
// RunPurchase) at a time.
package baseline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options configure a run.
type Options struct {
	NATSURL     string        // a JetStream server, e.g. the local mesh's nats://127.0.0.1:14222
	PostgresURL string        // any database on the server; the run uses its own database "baseline"
	Buyers      int           // concurrent buyers, each ordering distinct tickets
	Duration    time.Duration // how long to place orders
	Tickets     int           // tickets listed before the run; it stops early when all are ordered
	Sample      int           // measure order -> reserved on every Nth ticket (0: never)
}

// Result is what a run measured.
type Result struct {
	Orders  int
	Elapsed time.Duration
	// Latency has one entry per placed order: the POST /api/orders
	// equivalent, from the start of placing it to its publish acknowledged.
	Latency []time.Duration
	// Reserved has one entry per sampled order: from its placing to the
	// tickets service's row showing the reservation.
	Reserved []time.Duration
	Errors   map[string]int
	// Redelivered counts deliveries that came before what they follow, and
	// were retried (not errors).
	Redelivered int
}

// Waits bounded so that a broken run ends.
const (
	settleTimeout = 30 * time.Second // for the consumers to catch up
	reserveWait   = 30 * time.Second // for a sampled reservation to show
	pollEvery     = 2 * time.Millisecond
)

// bench is one run's connections and error counts.
type bench struct {
	db                                 *stores
	js                                 jetstream.JetStream
	ticketsOut, ordersOut, paymentsOut *outbox
	stripe                             *http.Client // the purchase workload's, to stripe-mock

	mu          sync.Mutex
	errors      map[string]int
	redelivered atomic.Int64 // deliveries that came before what they follow
}

// tally is what a run counted besides its measures.
type tally struct {
	errors      map[string]int
	redelivered int
}

// Run lists the tickets, lets the buyers order them for o.Duration, waits
// until every consumer has caught up, and tears everything down but the
// tables, which stay for inspection until the next run.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Buyers < 1 || o.Tickets < 1 || o.Duration <= 0 {
		return nil, errors.New("baseline: Buyers, Tickets and Duration must be positive")
	}
	var r *Result
	t, err := withBench(ctx, o.NATSURL, o.PostgresURL, o.Buyers, func(b *bench) error {
		ids, err := b.list(ctx, o.Tickets)
		if err != nil {
			return err
		}
		r = b.order(ctx, o, ids)
		return nil
	})
	if r == nil {
		return nil, err
	}
	r.Errors, r.Redelivered = t.errors, t.redelivered
	return r, err
}

// withBench gives work fresh schemas, a fresh stream and every consumer
// running, with pools sized for users concurrent users; then waits until the
// consumers have caught up (a failure to is counted, not returned) and tears
// everything down but the tables. It returns what it counted.
func withBench(ctx context.Context, natsURL, pgURL string, users int, work func(*bench) error) (tally, error) {
	if err := resetSchemas(ctx, pgURL); err != nil {
		return tally{}, fmt.Errorf("baseline: postgres: %w", err)
	}
	db, err := openStores(ctx, pgURL, users)
	if err != nil {
		return tally{}, fmt.Errorf("baseline: postgres: %w", err)
	}
	defer db.close()
	nc, err := nats.Connect(natsURL, nats.Timeout(2*time.Second))
	if err != nil {
		return tally{}, fmt.Errorf("baseline: nats: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return tally{}, err
	}
	stream, err := newStream(ctx, js)
	if err != nil {
		return tally{}, fmt.Errorf("baseline: stream: %w", err)
	}
	defer func() { // deleting the stream deletes its consumers
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, streamName)
	}()

	b := &bench{db: db, js: js, errors: map[string]int{},
		stripe: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: users}}}
	defer b.stripe.CloseIdleConnections()
	b.ticketsOut, b.ordersOut, b.paymentsOut = newOutbox(db.tickets, js), newOutbox(db.orders, js), newOutbox(db.payments, js)
	defer b.paymentsOut.close()
	defer b.ordersOut.close()
	defer b.ticketsOut.close()
	subs, err := b.subscribeAll(ctx, stream)
	if err != nil {
		return tally{}, fmt.Errorf("baseline: %w", err)
	}
	defer func() {
		stopAll(subs) // before the outboxes close: tickets' handler publishes
		for _, s := range subs {
			_ = stream.DeleteConsumer(context.WithoutCancel(ctx), s.name)
		}
	}()

	if err := work(b); err != nil {
		return b.tally(), fmt.Errorf("baseline: %w", err)
	}
	if err := b.settle(ctx, subs); err != nil {
		b.count("settle", err)
	}
	return b.tally(), ctx.Err()
}

func (b *bench) tally() tally {
	return tally{errors: b.errors, redelivered: int(b.redelivered.Load())}
}

// order runs the buyers: each takes the next unordered ticket until the time
// is up or none is left, and every o.Sample-th ticket is watched until the
// tickets service shows it reserved, as the load generator's distinct
// scenario does.
func (b *bench) order(ctx context.Context, o Options, ids []string) *Result {
	r := &Result{}
	var mu sync.Mutex
	var next atomic.Int64
	var buyers, watchers sync.WaitGroup
	start := time.Now()
	deadline := start.Add(o.Duration)
	for range o.Buyers {
		buyers.Go(func() {
			user := newID()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				began := time.Now()
				orderID, err := b.place(ctx, user, ids[i])
				placed := time.Now()
				if err != nil {
					b.count("place", err)
					continue
				}
				mu.Lock()
				r.Latency = append(r.Latency, placed.Sub(began))
				mu.Unlock()
				if o.Sample > 0 && i%o.Sample == 0 {
					watchers.Go(func() {
						d, err := b.watchReservation(ctx, ids[i], orderID, placed)
						if err != nil {
							b.count("reserved", err)
							return
						}
						mu.Lock()
						r.Reserved = append(r.Reserved, d)
						mu.Unlock()
					})
				}
			}
		})
	}
	buyers.Wait()
	r.Elapsed = time.Since(start)
	r.Orders = len(r.Latency)
	watchers.Wait()
	return r
}

// watchReservation polls the tickets service's row every 2 ms until it
// carries the order (as the load generator polls GET /api/tickets/:id), and
// returns how long after placed that was.
func (b *bench) watchReservation(ctx context.Context, ticketID, orderID string, placed time.Time) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, reserveWait)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		var holder string
		err := b.db.tickets.QueryRow(ctx, `SELECT order_id FROM tickets WHERE id = $1`, ticketID).Scan(&holder)
		if err == nil && holder == orderID {
			return time.Since(placed), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("not seen within %s", reserveWait)
		case <-tick.C:
		}
	}
}

// settle waits until every consumer has handled and acknowledged everything
// published to it. Checking upstream consumers first makes one idle pass
// final: an idle upstream has already published what it will.
func (b *bench) settle(ctx context.Context, subs []*subscription) error {
	return b.await(ctx, "the consumers to catch up", func() (bool, error) {
		for _, s := range subs {
			if idle, err := s.idle(ctx); !idle || err != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// await polls done every 10 ms for up to settleTimeout.
func (b *bench) await(ctx context.Context, what string, done func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	for {
		ok, err := done()
		if ok && err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// count records an error under where it happened.
func (b *bench) count(where string, err error) {
	b.mu.Lock()
	b.errors[where+": "+err.Error()]++
	b.mu.Unlock()
}
