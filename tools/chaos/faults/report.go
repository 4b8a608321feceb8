package faults

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot/vg"

	"github.com/tixmesh/ticketing/tools/loadgen/chart"
	"github.com/tixmesh/ticketing/tools/loadgen/check"
	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

// Markdown renders the run's report; chartPath is linked when not "".
func (r *Result) Markdown(command, chartPath string) string {
	var b strings.Builder
	l := r.Ledger
	verdict := "PASS"
	for _, c := range r.Checks {
		if !c.Pass {
			verdict = "FAIL"
		}
	}
	fmt.Fprintf(&b, "## Fault run: %s (seed %d)\n\n", verdict, r.Options.Seed)
	fmt.Fprintf(&b, "Run: `%s`, %s. Replay with the same `-seed %d`.\n\n", command, r.Started.UTC().Format(time.RFC3339), r.Options.Seed)
	elapsed := l.End.Sub(l.Start)
	placed, paid := l.Count()
	fmt.Fprintf(&b, "Load: %.0f s of a crowd (%d buyers of distinct tickets, %d racers per hot ticket, %.0f %% paid, %.0f %% cancelled, the rest left to expire with a %s window): %d orders placed (%.1f/s), %d paid, %d hot rounds.\n\n",
		elapsed.Seconds(), r.Options.Crowd.Buyers, r.Options.Crowd.Racers, 100*r.Options.Crowd.PayShare, 100*r.Options.Crowd.CancelShare, r.Options.ExpirationWindow,
		placed, float64(placed)/elapsed.Seconds(), paid, len(l.HotRounds))
	if r.NetCutErr != "" {
		fmt.Fprintf(&b, "No network cuts: the broker could not be isolated (%s).\n\n", r.NetCutErr)
	}

	fmt.Fprintf(&b, "### Invariants (settled in %.1f s after the last deadline + %s)\n\n| invariant | checked | verdict |\n|---|---|---|\n", r.Settled.Seconds(), r.Options.Bounds.Expiry)
	for _, c := range r.Checks {
		v := "PASS"
		if !c.Pass {
			v = fmt.Sprintf("**FAIL** (%d): %s", c.Count, strings.Join(c.Violations, "; "))
		}
		if c.Note != "" {
			v += " (" + c.Note + ")"
		}
		fmt.Fprintf(&b, "| %s | %d | %s |\n", c.Name, c.Checked, v)
	}

	fmt.Fprintf(&b, "\n### Faults injected\n\n| kind | target | count | held (s, mean) | back and ready after (s): p50 / max | first order placed after (s): p50 / max | errors |\n|---|---|---|---|---|---|---|\n")
	type key struct {
		kind   Kind
		target string
	}
	groups := map[key][]Record{}
	var keys []key
	for _, f := range r.Faults {
		k := key{f.Kind, f.Target}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], f)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].kind != keys[j].kind {
			return keys[i].kind < keys[j].kind
		}
		return keys[i].target < keys[j].target
	})
	orderTimes := r.orderTimes()
	for _, k := range keys {
		var held, ready, served crowd.Series
		errs := 0
		for _, f := range groups[k] {
			held = append(held, f.Hold)
			if f.Err != "" {
				errs++
				continue
			}
			ready = append(ready, f.Ready.Sub(f.Healed))
			if d, ok := firstAfter(orderTimes, f.At); ok {
				served = append(served, d)
			}
		}
		target := k.target
		if target == "" {
			target = "-"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.1f | %.1f / %.1f | %.1f / %.1f | %d |\n", k.kind, target, len(groups[k]), mean(held),
			ready.Pct(.5).Seconds(), ready.Pct(1).Seconds(), served.Pct(.5).Seconds(), served.Pct(1).Seconds(), errs)
	}
	fmt.Fprintf(&b, "\n%d faults in all. \"Back and ready\" is from the restart (or SIGCONT, or the link coming up) to every touched process answering its health check; \"first order placed\" is from the fault's start to the next order answered 201 (any buyer).\n", len(r.Faults))
	for _, f := range r.Faults {
		if f.Err != "" {
			fmt.Fprintf(&b, "- %s at %.0f s: %s\n", f.Fault, f.At.Sub(r.Started).Seconds(), f.Err)
		}
	}
	if len(r.Exits) > 0 {
		fmt.Fprintf(&b, "\nProcesses that exited on their own and were restarted by the supervisor: ")
		byName := map[string]int{}
		for _, e := range r.Exits {
			byName[e.Name]++
		}
		var parts []string
		for n, c := range byName {
			parts = append(parts, fmt.Sprintf("%s %d", n, c))
		}
		sort.Strings(parts)
		fmt.Fprintf(&b, "%s.\n", strings.Join(parts, ", "))
	}

	fmt.Fprintf(&b, "\n### Requests and their outcomes (load phase)\n\n| endpoint | requests | p50 | p99 | max | answers |\n|---|---|---|---|---|---|\n")
	for _, e := range l.Endpoints() {
		s, by := l.Latencies(e)
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s |\n", e, len(s), ms(s.Pct(.5)), ms(s.Pct(.99)), ms(s.Pct(1)), crowd.Answers(by))
	}
	errs := l.Errors()
	if len(errs) > 0 {
		fmt.Fprintf(&b, "\nFailed requests by kind (the faults' visible cost; none of them may break an invariant):\n\n")
		ks := make([]string, 0, len(errs))
		for k := range errs {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			fmt.Fprintf(&b, "- %s: %d\n", k, errs[k])
		}
	}
	var intents, confirms, tookMoney, replays, refunds, cancels int
	for _, c := range r.Stripe {
		switch {
		case c.Replayed:
			replays++
		case c.Method == "POST" && c.Path == "/v1/payment_intents":
			intents++
		case strings.HasSuffix(c.Path, "/confirm"):
			confirms++
			if c.Succeeded() {
				tookMoney++
			}
		case strings.HasSuffix(c.Path, "/cancel"):
			cancels++
		case strings.HasPrefix(c.Path, "/v1/refunds"):
			refunds++
		}
	}
	fmt.Fprintf(&b, "\nStripe, counted at the recorder in front of stripe-mock: %d PaymentIntents, %d confirmations (%d took money), %d cancelled, %d refunds, %d requests answered again under their idempotency key.\n",
		intents, confirms, tookMoney, cancels, refunds, replays)
	if s := r.Snapshot; s != nil && s.Charges != nil && s.Payments != nil {
		fmt.Fprintf(&b, "\n%s\n", moneyLine(s))
	}
	if chartPath != "" {
		fmt.Fprintf(&b, "\nTimeline: ![faults against throughput and errors](%s)\n", chartPath)
	}
	return b.String()
}

// orderTimes are the moments orders were answered 201, sorted.
func (r *Result) orderTimes() []time.Time {
	var ts []time.Time
	for _, q := range r.Ledger.Requests {
		if q.Endpoint == "POST /api/orders" && q.Status == 201 {
			ts = append(ts, q.At.Add(q.Latency))
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return ts
}

func firstAfter(ts []time.Time, t time.Time) (time.Duration, bool) {
	i := sort.Search(len(ts), func(i int) bool { return ts[i].After(t) })
	if i == len(ts) {
		return 0, false
	}
	return ts[i].Sub(t), true
}

func mean(s crowd.Series) float64 {
	if len(s) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return (sum / time.Duration(len(s))).Seconds()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// WriteChart draws orders placed and failed requests per second, with every
// fault marked where it began.
func (r *Result) WriteChart(path string) error {
	l := r.Ledger
	secs := max(1, int(math.Ceil(l.End.Sub(l.Start).Seconds())))
	ok := make([]float64, secs)
	failed := make([]float64, secs)
	paid := make([]float64, secs)
	for _, q := range l.Requests {
		i := int(q.At.Sub(l.Start).Seconds())
		if i < 0 || i >= secs {
			continue
		}
		switch {
		case q.Status == 0 || q.Status >= 500:
			failed[i]++
		case q.Endpoint == "POST /api/orders" && q.Status == 201:
			ok[i]++
		case q.Endpoint == "POST /api/payments" && q.Status == 201:
			paid[i]++
		}
	}
	x := make([]float64, secs)
	for i := range x {
		x[i] = float64(i) + 0.5
	}
	var marks []chart.Mark
	for _, f := range r.Faults {
		label := string(f.Kind)
		if f.Target != "" {
			label += " " + f.Target
		}
		marks = append(marks, chart.Mark{At: f.At.Sub(l.Start).Seconds(), Label: label})
	}
	return chart.WritePNG(path, vg.Length(min(30, max(10, float64(secs)/25)))*vg.Inch, []chart.Panel{
		{Title: fmt.Sprintf("Faults (seed %d) against throughput", r.Options.Seed), YLabel: "per second", Marks: marks, Lines: []chart.Line{
			{Name: "orders placed", X: x, Y: ok}, {Name: "payments", X: x, Y: paid},
		}},
		{Title: "Failed requests (5xx, no answer)", YLabel: "per second", Marks: marks, Lines: []chart.Line{
			{Name: "failed", X: x, Y: failed},
		}},
	})
}

// moneyLine says where the money went: what Stripe took, what went to the
// sellers (with the charge, or by transfer afterwards), what waits for
// sellers who never connected, and the platform's fees.
func moneyLine(s *check.Snapshot) string {
	var taken, withCharge, fees, waiting, sent, reversed int64
	var charges, destination, transfers, reversals, refunds int
	for _, c := range s.Charges {
		if c.Refund {
			refunds++
			continue
		}
		charges++
		taken += c.Amount
		if c.Destination != "" {
			destination++
			withCharge += c.Amount - c.Fee
		}
	}
	for _, t := range s.Transfers {
		if t.Reversal {
			reversals++
			reversed += t.Amount
		} else {
			transfers++
			sent += t.Amount
		}
	}
	for _, p := range s.Payments {
		if p.PaymentStatus != "succeeded" {
			continue
		}
		fees += p.Fee
		if p.Transfer == "pending" {
			waiting += p.Amount - p.Fee
		}
	}
	return fmt.Sprintf("Money, from the recorder and payments' records: %d charges took %s (%d of them destination charges, which moved %s to their sellers); "+
		"%d transfers after the charge sent %s, %d reversals took %s back; %s waits for sellers who never connected; "+
		"the platform's fees are %s; %d refunds.",
		charges, dollars(taken), destination, dollars(withCharge), transfers, dollars(sent), reversals, dollars(reversed), dollars(waiting), dollars(fees), refunds)
}

func dollars(cents int64) string { return fmt.Sprintf("$%d.%02d", cents/100, cents%100) }
