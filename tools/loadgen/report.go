package main

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// markdown renders the result as a Markdown report.
func (r *result) markdown(o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Load: %d buyers ordering distinct tickets\n\n", o.buyers)
	fmt.Fprintf(&b, "Run: `%s`, %s, %d tickets listed beforehand", o.command, time.Now().UTC().Format(time.RFC3339), r.listed)
	if o.rate > 0 {
		fmt.Fprintf(&b, "; paced at %.0f orders/s in all (an order due while every buyer is busy is skipped)", o.rate)
	}
	fmt.Fprintf(&b, ".\n\n")
	rate := float64(r.orders.count()) / r.elapsed.Seconds()
	fmt.Fprintf(&b, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| orders placed (201) | %d in %.1f s |\n", r.orders.count(), r.elapsed.Seconds())
	fmt.Fprintf(&b, "| **orders per second** | **%.0f** |\n", rate)
	fmt.Fprintf(&b, "| POST /api/orders p50 / p90 / p99 / max | %s / %s / %s / %s |\n",
		ms(r.orders.pct(0.5)), ms(r.orders.pct(0.9)), ms(r.orders.pct(0.99)), ms(r.orders.pct(1)))
	fmt.Fprintf(&b, "| order created -> ticket reserved p50 / p99 / max (%d sampled) | %s / %s / %s |\n",
		r.reserved.count(), ms(r.reserved.pct(0.5)), ms(r.reserved.pct(0.99)), ms(r.reserved.pct(1)))
	fmt.Fprintf(&b, "| sampled reservations never seen (30 s) | %d |\n", r.unreserved)
	fmt.Fprintf(&b, "| peak memory, apps + sidecars: PSS (shared pages counted once) / RSS sum | %.0f MiB / %.0f MiB |\n", r.memory.AppsAndSidecarsPSS, r.memory.AppsAndSidecars)
	fmt.Fprintf(&b, "| peak RSS, infrastructure (NATS, PostgreSQL, placement, scheduler, stripe-mock) | %.0f MiB |\n", r.memory.Infrastructure)
	if len(r.errors) > 0 {
		fmt.Fprintf(&b, "\nErrors:\n\n")
		keys := make([]string, 0, len(r.errors))
		for k := range r.errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "- %s: %d\n", k, r.errors[k])
		}
	}
	if len(r.memory.PerProcess) > 0 {
		fmt.Fprintf(&b, "\nPeak RSS per process (MiB): ")
		keys := make([]string, 0, len(r.memory.PerProcess))
		for k := range r.memory.PerProcess {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, r.memory.PerProcess[k]))
		}
		fmt.Fprintf(&b, "%s.\n", strings.Join(parts, ", "))
	}
	return b.String()
}
