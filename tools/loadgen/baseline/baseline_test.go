package baseline

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// servers returns the NATS and PostgreSQL URLs to run against,
// BASELINE_NATS_URL and BASELINE_PG_URL: the e2e suite sets them to its
// mesh's own servers (TestBaselineOnTheMeshsServers). Without them, or when
// either does not answer, the test is skipped.
func servers(t *testing.T) (natsURL, pgURL string) {
	t.Helper()
	natsURL, pgURL = os.Getenv("BASELINE_NATS_URL"), os.Getenv("BASELINE_PG_URL")
	if natsURL == "" || pgURL == "" {
		t.Skip("BASELINE_NATS_URL and BASELINE_PG_URL unset: the e2e suite runs this against its mesh's NATS and PostgreSQL")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	nc, err := nats.Connect(natsURL, nats.Timeout(time.Second))
	if err == nil {
		var js jetstream.JetStream
		if js, err = jetstream.New(nc); err == nil {
			_, err = js.AccountInfo(ctx)
		}
		nc.Close()
	}
	if err != nil {
		t.Skipf("no NATS JetStream at %s (set BASELINE_NATS_URL): %v", natsURL, err)
	}
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Skipf("no PostgreSQL at %s (set BASELINE_PG_URL): %v", pgURL, err)
	}
	conn.Close(ctx)
	return natsURL, pgURL
}

// TestRun checks correctness, not speed, of both workloads: every placed
// order ends up reserved exactly once on the tickets side and copied by every
// other service, every sampled reservation is seen, every purchase is paid
// and complete everywhere, and nothing is left running or provisioned.
func TestRun(t *testing.T) {
	natsURL, pgURL := servers(t)
	goroutines := runtime.NumGoroutine()
	t.Run("orders", func(t *testing.T) { testOrders(t, natsURL, pgURL) })
	t.Run("purchases", func(t *testing.T) { testPurchases(t, natsURL, pgURL) })

	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	if _, err := js.Stream(t.Context(), streamName); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("stream %s after the run: %v, want it deleted", streamName, err)
	}
	nc.Close()
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > goroutines; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Errorf("goroutines: %d after the run, %d before:\n%s", runtime.NumGoroutine(), goroutines, buf[:runtime.Stack(buf, true)])
			break
		}
	}
}

func testOrders(t *testing.T, natsURL, pgURL string) {
	const sample = 5
	r, err := Run(t.Context(), Options{NATSURL: natsURL, PostgresURL: pgURL, Buyers: 4, Duration: 2 * time.Second, Tickets: 100, Sample: sample})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orders in %s; errors %v", r.Orders, r.Elapsed.Round(time.Millisecond), r.Errors)
	if r.Orders == 0 || len(r.Latency) != r.Orders {
		t.Fatalf("orders %d, latencies %d", r.Orders, len(r.Latency))
	}
	if len(r.Errors) > 0 {
		t.Errorf("errors: %v", r.Errors)
	}
	// Buyers take tickets in order, so without errors tickets 0..Orders-1
	// were ordered, and every sample-th of them watched.
	if want := (r.Orders-1)/sample + 1; len(r.Reserved) != want {
		t.Errorf("%d reservations seen, want %d", len(r.Reserved), want)
	}
	counts(t, pgURL, r.Orders, []query{
		{"orders", `SELECT count(*) FROM orders.orders`},
		{"tickets reserved by their order at version 1", `SELECT count(*) FROM orders.orders o
			JOIN tickets.tickets t ON t.id = o.ticket_id AND t.order_id = o.id AND t.version = 1`},
		{"tickets reserved at all", `SELECT count(*) FROM tickets.tickets WHERE order_id <> '' OR version <> 0`},
		{"orders' copies at version 1, held by their order", `SELECT count(*) FROM orders.orders o
			JOIN orders.tickets t ON t.id = o.ticket_id AND t.reserved_by = o.id AND t.version = 1`},
		{"expiration schedules", `SELECT count(*) FROM expiration.schedule`},
		{"buyers' indexed orders", `SELECT coalesce(sum(cardinality(order_ids)), 0) FROM orders.user_orders`},
	})
	counts(t, pgURL, 0, []query{{"outbox rows left", `SELECT (SELECT count(*) FROM orders.outbox) + (SELECT count(*) FROM tickets.outbox)`}})
}

// testPurchases runs the purchase workload, with stripe-mock when
// BASELINE_STRIPE_URL names one.
func testPurchases(t *testing.T, natsURL, pgURL string) {
	r, err := RunPurchase(t.Context(), PurchaseOptions{NATSURL: natsURL, PostgresURL: pgURL, Users: 4, Duration: 2 * time.Second,
		Loops: 200, StripeURL: os.Getenv("BASELINE_STRIPE_URL")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d purchases in %s; errors %v", r.Loops, r.Elapsed.Round(time.Millisecond), r.Errors)
	if r.Loops == 0 || r.Loops > 200 || r.Failed != 0 || len(r.Errors) > 0 {
		t.Fatalf("purchases %d (at most 200), failed %d, errors %v", r.Loops, r.Failed, r.Errors)
	}
	for name, s := range map[string][]time.Duration{"list": r.List, "order": r.Order, "pay": r.Pay, "listed -> ordered": r.Ordered, "listed -> paid": r.Paid} {
		if len(s) != r.Loops {
			t.Errorf("%s: %d latencies, want %d", name, len(s), r.Loops)
		}
	}
	counts(t, pgURL, r.Loops, []query{
		{"tickets reserved by their order at version 1", `SELECT count(*) FROM orders.orders o
			JOIN tickets.tickets t ON t.id = o.ticket_id AND t.order_id = o.id AND t.version = 1`},
		{"complete orders", `SELECT count(*) FROM orders.orders WHERE status = 'complete' AND version = 2`},
		{"orders' copies at version 1, held by their order", `SELECT count(*) FROM orders.orders o
			JOIN orders.tickets t ON t.id = o.ticket_id AND t.reserved_by = o.id AND t.version = 1`},
		{"succeeded payments", `SELECT count(*) FROM payments.payments WHERE status = 'succeeded' AND stripe_id <> ''`},
		{"expiration schedules", `SELECT count(*) FROM expiration.schedule`},
	})
	counts(t, pgURL, 0, []query{
		{"holds left (the order's creation confirms its reservation)", `SELECT count(*) FROM tickets.holds`},
		{"outbox rows left", `SELECT (SELECT count(*) FROM orders.outbox) + (SELECT count(*) FROM tickets.outbox) + (SELECT count(*) FROM payments.outbox)`},
	})
}

type query struct{ what, sql string }

// counts checks that each query of the baseline's database counts want.
func counts(t *testing.T, pgURL string, want int, qs []query) {
	t.Helper()
	cfg, err := pgx.ParseConfig(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = database
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range qs {
		var n int
		if err := conn.QueryRow(t.Context(), q.sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q.what, err)
		}
		if n != want {
			t.Errorf("%s: %d, want %d", q.what, n, want)
		}
	}
}

// TestMeasure is the full baseline for the benchmark report, run only when
// asked: BASELINE_MEASURE=1 go test -run Measure -v ./baseline (with
// BASELINE_NATS_URL / BASELINE_PG_URL pointing at the mesh's servers).
// BASELINE_BUYERS, BASELINE_SECONDS and BASELINE_TICKETS change the load.
func TestMeasure(t *testing.T) {
	if os.Getenv("BASELINE_MEASURE") == "" {
		t.Skip("set BASELINE_MEASURE=1 to measure")
	}
	natsURL, pgURL := servers(t)
	env := func(name string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
			return n
		}
		return def
	}
	r, err := Run(t.Context(), Options{NATSURL: natsURL, PostgresURL: pgURL,
		Buyers: env("BASELINE_BUYERS", 20), Duration: time.Duration(env("BASELINE_SECONDS", 10)) * time.Second,
		Tickets: env("BASELINE_TICKETS", 10000), Sample: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orders in %s: %.0f orders/s; errors %v", r.Orders, r.Elapsed.Round(time.Millisecond),
		float64(r.Orders)/r.Elapsed.Seconds(), r.Errors)
	t.Logf("POST p50 %s p99 %s; order -> reserved p50 %s p99 %s (%d sampled)",
		pct(r.Latency, 50), pct(r.Latency, 99), pct(r.Reserved, 50), pct(r.Reserved, 99), len(r.Reserved))
}

// pct is the p-th percentile (nearest rank), rounded for reading.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	return s[(len(s)*p+99)/100-1].Round(100 * time.Microsecond)
}
