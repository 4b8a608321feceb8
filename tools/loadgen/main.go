// Command loadgen drives the marketplace's public origin like a crowd and
// reports how fast it went and whether every promise held: orders and
// payments per second, latency percentiles per endpoint, how long events take
// to propagate, expiration lateness, errors by kind, the invariants checked
// after the run, the same workload done directly (the mesh's overhead as a
// ratio), and CPU and memory per process. Markdown plus a PNG chart.
// Loopback only; bounded in count and time; it stops by itself.
//
//	go run ./tools/loadgen -duration 60s -out out/loadgen/report.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/check"
	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

var errInvariant = errors.New("an invariant failed")

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type options struct {
	command          string
	sellers, racers  int
	pay, cancel      float64
	hotEvery         time.Duration
	seed             uint64
	settle           time.Duration
	expiryBound      time.Duration
	paymentsSidecar  string
	meshDir          string
	baseline         bool
	baselineDuration time.Duration
	natsURL, pgURL   string
	stripeURL        string
	loops            int
	chart            string
	scenario         string
	rounds           int
	orders           int
	spread           time.Duration
	latenessURL      string
	url              string
	buyers           int
	duration         time.Duration
	tickets          int
	sample           int
	rate             float64
	out              string
	sizes            string
	reads            int
	quiet            float64
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&o.scenario, "scenario", "crowd", "crowd: a mixed crowd (distinct orders, hot-ticket races, payments, cancellations, expiries), checked afterwards; distinct: buyers order distinct tickets as fast as they can; race: all buyers order one ticket; expire: unpaid orders expire; purchase: each of -buyers loops lists a ticket, orders it at once and pays at once; catalogue: the landing page and GET /api/tickets as the catalogue grows (-sizes), read by -buyers visitors at a time")
	fs.IntVar(&o.sellers, "sellers", 4, "crowd: sellers listing the tickets")
	fs.IntVar(&o.racers, "racers", 10, "crowd: buyers racing for each hot ticket at once (0: no races)")
	fs.DurationVar(&o.hotEvery, "hot-every", 500*time.Millisecond, "crowd: a new hot ticket this often")
	fs.Float64Var(&o.pay, "pay", 0.5, "crowd: share of won orders paid")
	fs.Float64Var(&o.cancel, "cancel", 0.1, "crowd: share of won orders cancelled by their buyer (the rest expire)")
	fs.Uint64Var(&o.seed, "seed", uint64(time.Now().UnixNano()), "crowd: seed of the crowd's dice (printed in the report)")
	fs.DurationVar(&o.settle, "settle", 2*time.Minute, "crowd: how long to wait after the load for deadlines to pass and the services to agree")
	fs.DurationVar(&o.expiryBound, "expiry-bound", 10*time.Second, "crowd: an unpaid order must be cancelled this soon after its deadline")
	fs.StringVar(&o.paymentsSidecar, "payments-sidecar", "http://127.0.0.1:3504", "crowd: the payments sidecar's HTTP address, to read payments' state (\"\": skip)")
	fs.StringVar(&o.meshDir, "mesh-dir", ".mesh", "crowd: the running mesh's data directory (where its Stripe recorder's address is)")
	fs.BoolVar(&o.baseline, "baseline", true, "crowd, purchase: also run the same work straight against NATS and PostgreSQL")
	fs.DurationVar(&o.baselineDuration, "baseline-duration", 0, "crowd, purchase: how long the baseline runs (default: -duration)")
	fs.StringVar(&o.natsURL, "nats-url", "nats://127.0.0.1:14222", "crowd, purchase: NATS for the baseline (the mesh's)")
	fs.StringVar(&o.pgURL, "pg-url", "postgres://postgres@127.0.0.1:15432/postgres?sslmode=disable", "crowd, purchase: PostgreSQL for the baseline (the mesh's)")
	fs.StringVar(&o.stripeURL, "stripe-url", "http://127.0.0.1:12111", "purchase: stripe-mock for the baseline's one PaymentIntent per purchase (the mesh's; \"\": no Stripe call)")
	fs.IntVar(&o.loops, "loops", 100000, "purchase: at most this many loops in all (0: -duration alone bounds the run)")
	fs.StringVar(&o.chart, "chart", "", "crowd: write the latency chart (PNG) here (default: next to -out, or out/loadgen/)")
	fs.StringVar(&o.url, "url", "http://localhost:8080", "the public origin (loopback only)")
	fs.IntVar(&o.rounds, "rounds", 100, "race: rounds of all buyers ordering one ticket")
	fs.IntVar(&o.orders, "orders", 1000, "expire: how many unpaid orders")
	fs.DurationVar(&o.spread, "spread", time.Minute, "expire: place the orders evenly over this long")
	fs.StringVar(&o.latenessURL, "lateness-url", "http://127.0.0.1:3005/debug/lateness", "expire: the expiration app's lateness endpoint")
	fs.IntVar(&o.buyers, "buyers", 20, "concurrent buyers, each on distinct tickets (purchase: concurrent loops, each with its own seller and buyer)")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long buyers order (at most)")
	fs.IntVar(&o.tickets, "tickets", 4000, "tickets listed before the run (the run stops when they are all ordered)")
	fs.IntVar(&o.sample, "sample", 10, "watch every Nth order: until its ticket shows it reserved (distinct), or shows cancelled after its deadline (expire); 0: none")
	fs.Float64Var(&o.rate, "rate", 0, "distinct: orders per second in all, paced across the buyers; purchase: loops per second in all (0: each buyer as fast as it can)")
	fs.StringVar(&o.out, "out", "", "also write the report (Markdown) to this file")
	fs.StringVar(&o.sizes, "sizes", "100,10000,100000", "catalogue: the catalogue's sizes, in tickets listed, at which the first pages are read")
	fs.IntVar(&o.reads, "reads", 2000, "catalogue: reads of each page at each size")
	fs.Float64Var(&o.quiet, "quiet", 0.15, "catalogue: before reading, wait (up to 3 min) until the machine uses less than this many cores (0: do not wait)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := crowd.CheckLoopback(o.url); err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.duration+o.spread+30*time.Minute) // the whole run, setup included
	defer cancel()

	var report string
	failed := false
	o.command = "go run ./tools/loadgen " + strings.Join(args, " ")
	if o.baselineDuration == 0 {
		o.baselineDuration = o.duration
	}
	switch o.scenario {
	case "crowd":
		r, err := runCrowd(ctx, o)
		if err != nil {
			return err
		}
		if o.chart == "" {
			o.chart = "out/loadgen/crowd.png"
			if o.out != "" {
				o.chart = strings.TrimSuffix(o.out, filepath.Ext(o.out)) + ".png"
			}
		}
		if err := os.MkdirAll(filepath.Dir(o.chart), 0o755); err != nil {
			return err
		}
		if err := r.writeChart(o.chart); err != nil {
			return err
		}
		r.chart = o.chart
		if o.out != "" {
			if rel, err := filepath.Rel(filepath.Dir(o.out), o.chart); err == nil {
				r.chart = rel
			}
		}
		report = r.markdown(o)
		if !check.Passed(r.checks) {
			defer fmt.Fprintln(os.Stderr, "loadgen: an invariant failed (see the report)")
			failed = true
		}
	case "distinct":
		r, err := runDistinct(ctx, o)
		if err != nil {
			return err
		}
		report = r.markdown(o)
	case "race":
		r, err := runRace(ctx, o)
		if err != nil {
			return err
		}
		report = r.markdown(o)
	case "expire":
		r, err := runExpire(ctx, o)
		if err != nil {
			return err
		}
		report = r.markdown(o)
	case "purchase":
		r, err := runPurchase(ctx, o)
		if err != nil {
			return err
		}
		report = r.markdown(o)
	case "catalogue":
		r, err := runCatalogue(ctx, o)
		if err != nil {
			return err
		}
		report = r.markdown(o)
	default:
		return fmt.Errorf("-scenario %q: want crowd, distinct, race, expire, purchase or catalogue", o.scenario)
	}
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return err
		}
	}
	if failed {
		return errInvariant
	}
	return nil
}
