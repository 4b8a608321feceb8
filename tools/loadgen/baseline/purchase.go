package baseline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// The purchase workload is the buyer's whole path, with no tickets listed in
// advance: each user lists a ticket, orders it at once and pays at once, in a
// closed loop. Per purchase, as the services do it through their sidecars:
//   - tickets (POST /api/tickets, timed): one transaction inserting the
//     ticket with ticket:created in the outbox; publish.
//   - orders (POST /api/orders, timed): read its copy of the ticket (none
//     yet, usually); ask tickets, the ticket's owner, to reserve it: one
//     transaction taking the ticket by version check, with its hold record
//     and ticket:updated in the outbox; publish. Then one transaction making
//     the copy (as reserved), the order, the buyer's index and order:created
//     in the outbox; publish.
//   - payments (POST /api/payments, timed): orders holds the order for the
//     payment (awaiting:payment) and says what to charge; payments claims
//     the order (a create-only row); Stripe (stripe-mock, when StripeURL is
//     set); one transaction recording the success with payment:created in
//     the outbox; publish; orders marks the order complete.
//   - the consumers of Run handle the events (tickets and orders find them
//     applied already), and orders completes the order on payment:created
//     (it is already).
//
// The mesh's payments makes three Stripe calls per purchase (a payment method
// from the token, the intent, its confirmation), through the runner's test
// recorder; the baseline makes one, creating and confirming the intent at
// once: stripe-mock's work, not the recorder's, is the marketplace's.

// PurchaseOptions configure a purchase run.
type PurchaseOptions struct {
	NATSURL     string        // a JetStream server, e.g. the local mesh's nats://127.0.0.1:14222
	PostgresURL string        // any database on the server; the run uses its own database "baseline"
	Users       int           // concurrent loops, each with its own seller and buyer
	Duration    time.Duration // how long loops are started
	Loops       int           // at most this many loops in all (0: Duration alone bounds the run)
	// StripeURL is stripe-mock's base URL (the local mesh's
	// http://127.0.0.1:12111): each payment creates and confirms one
	// PaymentIntent there. "": no Stripe call.
	StripeURL string
	// Pace, when set, is called before each loop and returns when it may
	// start; false ends the user's loops.
	Pace func(ctx context.Context) bool
}

// PurchaseResult is what a purchase run measured.
type PurchaseResult struct {
	Loops   int // purchases completed: listed, ordered and paid
	Failed  int // loops ended by an error (Errors says which)
	Elapsed time.Duration
	// List, Order and Pay are each step's latency (the POST /api/tickets,
	// /api/orders and /api/payments equivalents), one per step that
	// succeeded. Ordered and Paid run from the start of the listing to the
	// order placed, to the payment recorded.
	List, Order, Pay []time.Duration
	Ordered, Paid    []time.Duration
	Errors           map[string]int
	// Redelivered counts deliveries that came before what they follow, and
	// were retried (not errors): a ticket's reservation reaching orders'
	// copy before the order made it.
	Redelivered int
}

// RunPurchase runs o.Users closed loops of list, order, pay for o.Duration
// (or o.Loops loops), waits until every consumer has caught up, and tears
// everything down but the tables.
func RunPurchase(ctx context.Context, o PurchaseOptions) (*PurchaseResult, error) {
	if o.Users < 1 || o.Duration <= 0 {
		return nil, errors.New("baseline: Users and Duration must be positive")
	}
	r := &PurchaseResult{}
	t, err := withBench(ctx, o.NATSURL, o.PostgresURL, o.Users, func(b *bench) error {
		b.purchases(ctx, o, r)
		return nil
	})
	r.Errors, r.Redelivered = t.errors, t.redelivered
	return r, err
}

// purchases runs the loops until the time, the count or ctx is up.
func (b *bench) purchases(ctx context.Context, o PurchaseOptions, r *PurchaseResult) {
	var mu sync.Mutex
	var started atomic.Int64
	start := time.Now()
	deadline := start.Add(o.Duration)
	var users sync.WaitGroup
	for range o.Users {
		users.Go(func() {
			seller, buyer := newID(), newID()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if o.Pace != nil && !o.Pace(ctx) {
					return
				}
				if o.Loops > 0 && started.Add(1) > int64(o.Loops) {
					return
				}
				l := b.purchase(ctx, seller, buyer, o.StripeURL)
				mu.Lock()
				r.add(l)
				mu.Unlock()
			}
		})
	}
	users.Wait()
	r.Elapsed = time.Since(start)
}

// loop is one purchase's timings: each step's end, from its start.
type loop struct {
	began, listed, ordered, paid time.Time
	err                          error
}

func (r *PurchaseResult) add(l loop) {
	if !l.listed.IsZero() {
		r.List = append(r.List, l.listed.Sub(l.began))
	}
	if !l.ordered.IsZero() {
		r.Order = append(r.Order, l.ordered.Sub(l.listed))
		r.Ordered = append(r.Ordered, l.ordered.Sub(l.began))
	}
	if !l.paid.IsZero() {
		r.Pay = append(r.Pay, l.paid.Sub(l.ordered))
		r.Paid = append(r.Paid, l.paid.Sub(l.began))
		r.Loops++
	}
	if l.err != nil {
		r.Failed++
	}
}

// purchase is one loop: the seller lists, the buyer orders and pays.
func (b *bench) purchase(ctx context.Context, seller, buyer, stripeURL string) loop {
	l := loop{began: time.Now()}
	ticketID, err := b.listOne(ctx, seller)
	if err != nil {
		b.count("list", err)
		l.err = err
		return l
	}
	l.listed = time.Now()
	orderID, err := b.orderNow(ctx, buyer, ticketID)
	if err != nil {
		b.count("order", err)
		l.err = err
		return l
	}
	l.ordered = time.Now()
	if err := b.pay(ctx, buyer, orderID, stripeURL); err != nil {
		b.count("pay", err)
		l.err = err
		return l
	}
	l.paid = time.Now()
	return l
}

// listOne is tickets' POST /api/tickets: the ticket and its ticket:created
// in one transaction; publish.
func (b *bench) listOne(ctx context.Context, seller string) (string, error) {
	ev := events.TicketCreatedEvent{ID: newID(), Title: "Purchase", Price: 10, UserID: seller}
	msg := ev.Message()
	data, _ := json.Marshal(msg.Data)
	err := pgx.BeginFunc(ctx, b.db.tickets, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO tickets (id, title, price, user_id, version) VALUES ($1, $2, $3, $4, 0)`,
			ev.ID, ev.Title, ev.Price, seller); err != nil {
			return err
		}
		return b.ticketsOut.record(ctx, tx, msg.Topic, msg.ID, data)
	})
	if err != nil {
		return "", err
	}
	return ev.ID, b.ticketsOut.publish(ctx, msg.Topic, msg.ID, data)
}

// orderNow is orders' POST /api/orders as it is made when the ticket was
// just listed: a copy that shows the ticket held refuses at once; otherwise
// tickets reserves the ticket for the new order, and orders commits the
// order on the ticket as tickets answered.
func (b *bench) orderNow(ctx context.Context, buyer, ticketID string) (string, error) {
	var reservedBy string
	err := b.db.orders.QueryRow(ctx, `SELECT reserved_by FROM tickets WHERE id = $1`, ticketID).Scan(&reservedBy)
	switch {
	case err == nil && reservedBy != "":
		return "", errReserved
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return "", err
	}
	id := newID()
	t, err := b.reserve(ctx, ticketID, id, true)
	if err != nil {
		return "", err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	ev := events.OrderCreatedEvent{ID: id, Status: events.OrderStatusCreated, UserID: buyer, ExpiresAt: now.Add(expirationWindow),
		Ticket: events.OrderTicket{ID: ticketID, Price: t.Price}}
	msg := ev.Message()
	data, _ := json.Marshal(msg.Data)
	err = pgx.BeginFunc(ctx, b.db.orders, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO tickets (id, title, price, version, reserved_by) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET title = $2, price = $3, version = $4, reserved_by = $5
			WHERE tickets.reserved_by IN ('', $5)`, ticketID, t.Title, t.Price, t.Version, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errReserved
		}
		if _, err := tx.Exec(ctx, `INSERT INTO orders
			(id, user_id, status, expires_at, ticket_id, ticket_title, ticket_price, ticket_version, version, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			id, buyer, string(ev.Status), ev.ExpiresAt, ticketID, t.Title, t.Price, t.Version, ev.Version, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_orders (user_id, order_ids) VALUES ($1, ARRAY[$2::text])
			ON CONFLICT (user_id) DO UPDATE SET order_ids = user_orders.order_ids || $2::text`, buyer, id); err != nil {
			return err
		}
		return b.ordersOut.record(ctx, tx, msg.Topic, msg.ID, data)
	})
	if err != nil {
		return "", err
	}
	return id, b.ordersOut.publish(ctx, msg.Topic, msg.ID, data)
}

var (
	errNotPayable = errors.New("order is not payable")
	errInProgress = errors.New("a payment for this order is in progress")
)

// pay is payments' POST /api/payments with a card that succeeds: orders
// holds the order and says what to charge; payments claims the order,
// charges, records the success with payment:created and publishes it; orders
// completes the order.
func (b *bench) pay(ctx context.Context, buyer, orderID, stripeURL string) error {
	var price float64
	err := b.db.orders.QueryRow(ctx, `UPDATE orders SET status = 'awaiting:payment', version = version + 1
		WHERE id = $1 AND user_id = $2 AND status = 'created' AND expires_at > now() RETURNING ticket_price`,
		orderID, buyer).Scan(&price)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNotPayable
	}
	if err != nil {
		return err
	}
	paymentID, amount := newID(), int64(price*100+0.5)
	tag, err := b.db.payments.Exec(ctx, `INSERT INTO payments (order_id, id, user_id, amount, status, method, attempt_at, version)
		VALUES ($1, $2, $3, $4, 'pending', 'tok_visa', now(), 0) ON CONFLICT (order_id) DO NOTHING`,
		orderID, paymentID, buyer, amount)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errInProgress
	}
	stripeID := "pi_direct_" + paymentID
	if stripeURL != "" {
		if stripeID, err = b.charge(ctx, stripeURL, orderID, paymentID, amount); err != nil {
			return err
		}
	}
	ev := events.PaymentCreatedEvent{ID: paymentID, OrderID: orderID, StripeID: stripeID}
	msg := ev.Message()
	data, _ := json.Marshal(msg.Data)
	err = pgx.BeginFunc(ctx, b.db.payments, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE payments SET status = 'succeeded', stripe_id = $3, method = '', version = version + 1
			WHERE order_id = $1 AND id = $2 AND status = 'pending'`, orderID, paymentID, stripeID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errConflict
		}
		return b.paymentsOut.record(ctx, tx, msg.Topic, msg.ID, data)
	})
	if err != nil {
		return err
	}
	if err := b.paymentsOut.publish(ctx, msg.Topic, msg.ID, data); err != nil {
		return err
	}
	return b.complete(ctx, orderID)
}

// complete is orders completing a paid order; an order complete already
// stays as it is. pgx.ErrNoRows: no such order.
func (b *bench) complete(ctx context.Context, orderID string) error {
	var status string
	err := b.db.orders.QueryRow(ctx, `UPDATE orders SET status = 'complete', version = version + 1
		WHERE id = $1 AND status IN ('created', 'awaiting:payment') RETURNING status`, orderID).Scan(&status)
	if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if err := b.db.orders.QueryRow(ctx, `SELECT status FROM orders WHERE id = $1`, orderID).Scan(&status); err != nil {
		return err
	}
	if status != string(events.OrderStatusComplete) {
		return fmt.Errorf("order %s is %s: %w", orderID, status, errConflict)
	}
	return nil
}

// charge creates and confirms a PaymentIntent at stripe-mock, with the
// headers stripe-go sends, and returns its id.
func (b *bench) charge(ctx context.Context, base, orderID, paymentID string, amount int64) (string, error) {
	form := url.Values{
		"amount":                 {strconv.FormatInt(amount, 10)},
		"currency":               {"usd"},
		"payment_method":         {"pm_card_visa"},
		"payment_method_types[]": {"card"},
		"confirm":                {"true"},
		"description":            {"Payment for order " + orderID},
		"metadata[orderId]":      {orderID},
		"metadata[paymentId]":    {paymentID},
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(base, "/")+"/v1/payment_intents", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer sk_test_baseline")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Idempotency-Key", "baseline-intent-"+paymentID)
	resp, err := b.stripe.Do(req)
	if err != nil {
		return "", fmt.Errorf("stripe: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("stripe: POST /v1/payment_intents: status %d", resp.StatusCode)
	}
	var pi struct{ ID string }
	if err := json.Unmarshal(body, &pi); err != nil || pi.ID == "" {
		return "", fmt.Errorf("stripe: POST /v1/payment_intents: no intent in the answer (%v)", err)
	}
	return pi.ID, nil
}
