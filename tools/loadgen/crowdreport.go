package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot/vg"

	"github.com/tixmesh/ticketing/tools/loadgen/chart"
	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

// markdown renders the crowd's report.
func (r *crowdResult) markdown(o options) string {
	var b strings.Builder
	l := r.ledger
	elapsed := l.End.Sub(l.Start)
	placed, paid := l.Count()
	fmt.Fprintf(&b, "## Load: a crowd of %d buyers and %d racers for %s\n\n", o.buyers, o.racers, o.duration)
	fmt.Fprintf(&b, "Run: `%s`, %s, seed %d.\n\n", o.command, time.Now().UTC().Format(time.RFC3339), o.seed)
	fmt.Fprintf(&b, "Buyers order distinct tickets (of %d listed beforehand) as fast as they can; every %s a fresh hot ticket is raced for by %d buyers at once; %.0f %% of won orders are paid, %.0f %% cancelled by their buyer, the rest left to expire.\n\n",
		o.tickets, o.hotEvery, o.racers, 100*o.pay, 100*o.cancel)

	fmt.Fprintf(&b, "### Throughput\n\n| measure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| orders placed (201) | %d in %.1f s |\n", placed, elapsed.Seconds())
	fmt.Fprintf(&b, "| **orders per second** | **%.1f** |\n", float64(placed)/elapsed.Seconds())
	fmt.Fprintf(&b, "| payments (201) | %d, **%.1f per second** |\n", paid, float64(paid)/elapsed.Seconds())
	hot, won, double := len(l.HotRounds), 0, 0
	for _, h := range l.HotRounds {
		switch {
		case h.Statuses[201] == 1:
			won++
		case h.Statuses[201] > 1:
			double++
		}
	}
	fmt.Fprintf(&b, "| hot-ticket races: rounds with one winner / none / **more than one** | %d / %d / **%d** of %d |\n", won, hot-won-double, double, hot)
	fmt.Fprintf(&b, "| orders cancelled by their buyer / left to expire | %d / %d |\n", r.count(func(o *crowd.Order) bool { return o.Cancelled }), r.count(func(o *crowd.Order) bool { return !o.Paid && !o.Cancelled }))

	fmt.Fprintf(&b, "\n### Latency per endpoint (load phase)\n\n| endpoint | requests | p50 | p90 | p99 | max | answers |\n|---|---|---|---|---|---|---|\n")
	for _, e := range l.Endpoints() {
		s, by := l.Latencies(e)
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", e, len(s), ms(s.Pct(.5)), ms(s.Pct(.9)), ms(s.Pct(.99)), ms(s.Pct(1)), crowd.Answers(by))
	}

	fmt.Fprintf(&b, "\n### Event propagation\n\n| measure | sampled | p50 | p99 | max |\n|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| order created (201) -> ticket shows it reserved | %d | %s | %s | %s |\n", len(l.Reserved), ms(l.Reserved.Pct(.5)), ms(l.Reserved.Pct(.99)), ms(l.Reserved.Pct(1)))
	fmt.Fprintf(&b, "| payment (201) -> order shows complete | %d | %s | %s | %s |\n", len(l.Completed), ms(l.Completed.Pct(.5)), ms(l.Completed.Pct(.99)), ms(l.Completed.Pct(1)))
	fmt.Fprintf(&b, "\nEach sampled propagation is polled every %v (so seen at most that late). Never seen within 30 s: %d.\n", crowd.WatchEvery, l.Unseen)
	if r.latenessErr != nil {
		fmt.Fprintf(&b, "\nExpiration lateness: not read (%v).\n", r.latenessErr)
	} else {
		fmt.Fprintf(&b, "\nExpiration lateness (expiration's own account of its reminders since it started, %d fired): p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms.\n",
			r.lateness.Count, r.lateness.P50, r.lateness.P90, r.lateness.P99, r.lateness.Max)
	}

	errs := l.Errors()
	fmt.Fprintf(&b, "\n### Errors by kind\n\n")
	if len(errs) == 0 {
		fmt.Fprintf(&b, "None (a lost race's 400 is an answer, not an error).\n")
	}
	for _, k := range sortedKeys(errs) {
		fmt.Fprintf(&b, "- %s: %d\n", k, errs[k])
	}

	fmt.Fprintf(&b, "\n### Invariants, after the load (settled in %.1f s)\n\n| invariant | checked | verdict |\n|---|---|---|\n", r.settled.Seconds())
	for _, c := range r.checks {
		verdict := "PASS"
		if !c.Pass {
			verdict = fmt.Sprintf("**FAIL** (%d): %s", c.Count, strings.Join(c.Violations, "; "))
		}
		if c.Note != "" {
			verdict += " (" + c.Note + ")"
		}
		fmt.Fprintf(&b, "| %s | %d | %s |\n", c.Name, c.Checked, verdict)
	}
	fmt.Fprintf(&b, "\nUnpaid orders past their deadline (+%s) when checked: %d; not yet due (their expiry not checked; start the mesh with a short ORDER_EXPIRATION_WINDOW to check them all): %d.\n", r.expiryBound, r.due, r.unchecked)

	if o.baseline {
		fmt.Fprintf(&b, "\n### The mesh against the same work done directly\n\n")
		if r.baselineErr != nil {
			fmt.Fprintf(&b, "Baseline not measured: %v\n", r.baselineErr)
		} else {
			bl := r.baseline
			bs := crowd.Series(bl.Latency)
			rs := crowd.Series(bl.Reserved)
			mesh, _ := l.Latencies("POST /api/orders")
			blRate := float64(bl.Orders) / bl.Elapsed.Seconds()
			rate := float64(placed) / elapsed.Seconds()
			fmt.Fprintf(&b, "The baseline does each order's storage and messaging straight from Go: the same PostgreSQL transactions (version-checked ticket copy, create-only order, buyer index, outbox row), the same JetStream publishes with ids and synchronous acks, the same durable consumers with manual acks (tickets reserving, orders applying ticket:updated, payments and expiration recording), on the mesh's own NATS and PostgreSQL, with %d buyers on distinct tickets for %s. It has no HTTP front door, no JWT, no sidecar.\n\n", o.buyers, o.baselineDuration)
			fmt.Fprintf(&b, "| measure | mesh | direct | the mesh's cost (throughput: direct ÷ mesh; latency: mesh ÷ direct) |\n|---|---|---|---|\n")
			fmt.Fprintf(&b, "| orders per second | %.1f | %.1f | %s |\n", rate, blRate, ratio(blRate, rate))
			fmt.Fprintf(&b, "| placing an order p50 | %s | %s | %s |\n", ms(mesh.Pct(.5)), ms(bs.Pct(.5)), ratio(float64(mesh.Pct(.5)), float64(bs.Pct(.5))))
			fmt.Fprintf(&b, "| placing an order p99 | %s | %s | %s |\n", ms(mesh.Pct(.99)), ms(bs.Pct(.99)), ratio(float64(mesh.Pct(.99)), float64(bs.Pct(.99))))
			fmt.Fprintf(&b, "| order -> ticket reserved p99 | %s | %s | %s |\n", ms(l.Reserved.Pct(.99)), ms(rs.Pct(.99)), ratio(float64(l.Reserved.Pct(.99)), float64(rs.Pct(.99))))
			fmt.Fprintf(&b, "\nThe mesh's run is the mixed crowd (races, payments, cancellations too), the baseline's distinct orders only: the comparison flatters the baseline a little.\n")
			if len(bl.Errors) > 0 {
				fmt.Fprintf(&b, "\nBaseline errors: %v\n", bl.Errors)
			}
		}
	}

	m := r.memory
	fmt.Fprintf(&b, "\n### Processes during the load (sampled every 0.5 s over %.0f s)\n\n", m.Window.Seconds())
	fmt.Fprintf(&b, "Peak memory, apps + sidecars: **PSS %.0f MiB** (shared pages counted once), RSS sum %.0f MiB; infrastructure (NATS, PostgreSQL, placement, scheduler, stripe-mock) RSS %.0f MiB.\n\n", m.AppsAndSidecarsPSS, m.AppsAndSidecars, m.Infrastructure)
	fmt.Fprintf(&b, "| process | CPU seconds | average cores | peak RSS (MiB) |\n|---|---|---|---|\n")
	names := sortedKeys(m.PerProcess)
	sort.SliceStable(names, func(i, j int) bool { return m.CPU[names[i]] > m.CPU[names[j]] })
	total := 0.0
	for _, n := range names {
		total += m.CPU[n]
		fmt.Fprintf(&b, "| %s | %.1f | %.2f | %.0f |\n", n, m.CPU[n], m.CPU[n]/m.Window.Seconds(), m.PerProcess[n])
	}
	fmt.Fprintf(&b, "| all | %.1f | %.2f | |\n", total, total/m.Window.Seconds())
	if r.chart != "" {
		fmt.Fprintf(&b, "\nLatency and throughput over time: ![latency over time](%s)\n", r.chart)
	}
	return b.String()
}

func (r *crowdResult) count(f func(*crowd.Order) bool) int {
	n := 0
	for _, o := range r.ledger.Orders {
		if f(o) {
			n++
		}
	}
	return n
}

func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a/b) {
		return "-"
	}
	return fmt.Sprintf("%.1f×", a/b)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writeChart draws latency (p50, p99 per second) and throughput (orders,
// payments and failed requests per second) over the load phase.
func (r *crowdResult) writeChart(path string) error {
	l := r.ledger
	secs := int(math.Ceil(l.End.Sub(l.Start).Seconds()))
	if secs < 1 {
		secs = 1
	}
	lat := map[string][]crowd.Series{}
	count := map[string][]float64{}
	for _, e := range []string{"POST /api/orders", "POST /api/payments", "failed"} {
		lat[e] = make([]crowd.Series, secs)
		count[e] = make([]float64, secs)
	}
	for _, q := range l.Requests {
		i := int(q.At.Sub(l.Start).Seconds())
		if i < 0 || i >= secs {
			continue
		}
		if q.Status == 0 || q.Status >= 500 {
			count["failed"][i]++
		}
		if _, ok := lat[q.Endpoint]; ok && q.Status/100 == 2 {
			lat[q.Endpoint][i] = append(lat[q.Endpoint][i], q.Latency)
			count[q.Endpoint][i]++
		}
	}
	x := make([]float64, secs)
	for i := range x {
		x[i] = float64(i) + 0.5
	}
	pct := func(e string, q float64) []float64 {
		y := make([]float64, secs)
		for i, s := range lat[e] {
			y[i] = float64(s.Pct(q)) / float64(time.Millisecond)
		}
		return y
	}
	return chart.WritePNG(path, 9*vg.Inch, []chart.Panel{
		{Title: "POST /api/orders and /api/payments latency, per second", YLabel: "ms", Lines: []chart.Line{
			{Name: "orders p50", X: x, Y: pct("POST /api/orders", .5)},
			{Name: "orders p99", X: x, Y: pct("POST /api/orders", .99)},
			{Name: "payments p50", X: x, Y: pct("POST /api/payments", .5)},
			{Name: "payments p99", X: x, Y: pct("POST /api/payments", .99)},
		}},
		{Title: "Throughput and failures, per second", YLabel: "per second", Lines: []chart.Line{
			{Name: "orders placed", X: x, Y: count["POST /api/orders"]},
			{Name: "payments", X: x, Y: count["POST /api/payments"]},
			{Name: "failed requests", X: x, Y: count["failed"]},
		}},
	})
}
