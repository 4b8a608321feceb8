// Command loadgen drives the marketplace's public origin like a crowd of
// buyers and reports how fast it went: orders per second, latency percentiles
// per endpoint, how long an order takes to show on its ticket, and the memory
// of the mesh's processes while it ran. Loopback only; bounded in count and
// time; it stops by itself.
//
//	go run ./tools/mesh/cmd/loadgen -url http://localhost:8080 -buyers 20 -duration 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type options struct {
	scenario    string
	rounds      int
	orders      int
	spread      time.Duration
	latenessURL string
	url         string
	buyers      int
	duration    time.Duration
	tickets     int
	sample      int
	out         string
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&o.scenario, "scenario", "distinct", "distinct: buyers order distinct tickets as fast as they can; race: all buyers order one ticket; expire: unpaid orders expire")
	fs.StringVar(&o.url, "url", "http://localhost:8080", "the public origin (loopback only)")
	fs.IntVar(&o.rounds, "rounds", 100, "race: rounds of all buyers ordering one ticket")
	fs.IntVar(&o.orders, "orders", 1000, "expire: how many unpaid orders")
	fs.DurationVar(&o.spread, "spread", time.Minute, "expire: place the orders evenly over this long")
	fs.StringVar(&o.latenessURL, "lateness-url", "http://127.0.0.1:3005/debug/lateness", "expire: the expiration app's lateness endpoint")
	fs.IntVar(&o.buyers, "buyers", 20, "concurrent buyers, each on distinct tickets")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long buyers order (at most)")
	fs.IntVar(&o.tickets, "tickets", 4000, "tickets listed before the run (the run stops when they are all ordered)")
	fs.IntVar(&o.sample, "sample", 10, "watch every Nth order until its ticket shows it reserved (0: none)")
	fs.StringVar(&o.out, "out", "", "also write the report (Markdown) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(o.url)
	if err != nil {
		return err
	}
	if h := u.Hostname(); h != "localhost" && !strings.HasPrefix(h, "127.") && h != "::1" {
		return fmt.Errorf("-url %s: loadgen only targets loopback", o.url)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.duration+o.spread+30*time.Minute) // the whole run, setup included
	defer cancel()

	var report string
	switch o.scenario {
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
	default:
		return fmt.Errorf("-scenario %q: want distinct, race or expire", o.scenario)
	}
	fmt.Print(report)
	if o.out != "" {
		return os.WriteFile(o.out, []byte(report), 0o644)
	}
	return nil
}
