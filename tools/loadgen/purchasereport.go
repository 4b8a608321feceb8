package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

// markdown renders the purchase scenario's report.
func (r *purchaseResult) markdown(o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Load: %d users buying, each loop listing a ticket, ordering it at once and paying at once\n\n", r.users)
	fmt.Fprintf(&b, "Run: `%s`, %s.\n\n", o.command, time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "Each of %d closed loops has its own seller and buyer, signed up before the clock starts. A loop: the seller lists a ticket (`%s`), the buyer orders it at once (`%s`, no waiting for any event) and pays at once (`%s`, `tok_visa`). No tickets are listed in advance. A loop that gets an answer other than 2xx (or none) is counted failed, and the next loop starts", r.users, epList, epOrder, epPay)
	if o.rate > 0 {
		fmt.Fprintf(&b, "; loops are paced at %.0f per second in all (a loop due while every user is busy is skipped)", o.rate)
	}
	fmt.Fprintf(&b, ".\n\n")

	fmt.Fprintf(&b, "### Throughput\n\n| measure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| purchases (listed, ordered and paid: three 201s) | %d in %.1f s |\n", r.loops, r.elapsed.Seconds())
	fmt.Fprintf(&b, "| **purchases (loops) per second** | **%.1f** |\n", r.loopsPerSecond())
	failed := "0"
	if r.failed > 0 {
		var at []string
		for _, e := range purchaseEndpoints {
			if n := r.failedAt[e]; n > 0 {
				at = append(at, fmt.Sprintf("%d at %s", n, e))
			}
		}
		failed = fmt.Sprintf("**%d** (%s)", r.failed, strings.Join(at, ", "))
	}
	fmt.Fprintf(&b, "| failed loops | %s |\n", failed)

	fmt.Fprintf(&b, "\n### Latency\n\nPer endpoint, of its 2xx answers; the spans of each loop from the start of its listing request.\n\n")
	fmt.Fprintf(&b, "| measure | count | p50 | p90 | p99 | max | answers |\n|---|---|---|---|---|---|---|\n")
	for _, e := range purchaseEndpoints {
		s := r.latency[e]
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s | %s | %s | %s |\n", e, len(s), ms(s.Pct(.5)), ms(s.Pct(.9)), ms(s.Pct(.99)), ms(s.Pct(1)), crowd.Answers(r.answers[e]))
	}
	fmt.Fprintf(&b, "| listed -> ordered (start of the listing to the order's 201) | %d | %s | %s | %s | %s | |\n", len(r.ordered), ms(r.ordered.Pct(.5)), ms(r.ordered.Pct(.9)), ms(r.ordered.Pct(.99)), ms(r.ordered.Pct(1)))
	fmt.Fprintf(&b, "| **listed -> paid** (start of the listing to the payment's 201) | %d | %s | %s | **%s** | %s | |\n", len(r.paid), ms(r.paid.Pct(.5)), ms(r.paid.Pct(.9)), ms(r.paid.Pct(.99)), ms(r.paid.Pct(1)))

	fmt.Fprintf(&b, "\n### Errors by endpoint and status\n\n")
	if len(r.errors) == 0 {
		fmt.Fprintf(&b, "None.\n")
	}
	for _, k := range sortedKeys(r.errors) {
		fmt.Fprintf(&b, "- %s: %d\n", k, r.errors[k])
	}

	if o.baseline {
		r.baselineMarkdown(&b, o)
	}
	r.processesMarkdown(&b)
	return b.String()
}

// baselineMarkdown compares the mesh with the same purchases done directly.
func (r *purchaseResult) baselineMarkdown(b *strings.Builder, o options) {
	fmt.Fprintf(b, "\n### The mesh against the same work done directly\n\n")
	if r.baseline == nil {
		why := "the run was stopped first"
		if r.baselineErr != nil {
			why = r.baselineErr.Error()
		}
		fmt.Fprintf(b, "Baseline not measured: %s.\n", why)
		return
	}
	bl := r.baseline
	stripe := "no Stripe call (`-stripe-url` empty)"
	if o.stripeURL != "" {
		stripe = "one PaymentIntent created and confirmed at stripe-mock per payment (the mesh's payments makes three Stripe calls, through the runner's test recorder)"
	}
	fmt.Fprintf(b, "The baseline runs %d loops for %s doing each purchase's storage and messaging straight from Go, on the mesh's own NATS and PostgreSQL (its own stream and database): listing (the ticket and ticket:created in one transaction, published), ordering (tickets reserving the ticket by version check with its hold and ticket:updated; orders' copy, the order, the buyer's index and order:created in one transaction; each published), paying (orders holding the order, payments' create-only claim, %s, the success and payment:created in one transaction, published, the order completed), with the durable consumers of the order baseline behind it. No HTTP front door, no JWT, no sidecar.\n\n", o.buyers, o.baselineDuration, stripe)
	blRate := 0.0
	if bl.Elapsed > 0 {
		blRate = float64(bl.Loops) / bl.Elapsed.Seconds()
	}
	fmt.Fprintf(b, "| measure | mesh | direct | the mesh's cost (throughput, CPU: mesh against direct; latency: mesh ÷ direct) |\n|---|---|---|---|\n")
	fmt.Fprintf(b, "| purchases per second | %.1f | %.1f | %s |\n", r.loopsPerSecond(), blRate, ratio(blRate, r.loopsPerSecond()))
	fmt.Fprintf(b, "| purchases / failed loops | %d / %d | %d / %d | |\n", r.loops, r.failed, bl.Loops, bl.Failed)
	row := func(name string, mesh, direct crowd.Series) {
		fmt.Fprintf(b, "| %s p50 / p90 / p99 / max | %s / %s / %s / %s | %s / %s / %s / %s | p50 %s, p99 %s |\n", name,
			ms(mesh.Pct(.5)), ms(mesh.Pct(.9)), ms(mesh.Pct(.99)), ms(mesh.Pct(1)),
			ms(direct.Pct(.5)), ms(direct.Pct(.9)), ms(direct.Pct(.99)), ms(direct.Pct(1)),
			ratio(float64(mesh.Pct(.5)), float64(direct.Pct(.5))), ratio(float64(mesh.Pct(.99)), float64(direct.Pct(.99))))
	}
	row("`"+epList+"`", r.latency[epList], bl.List)
	row("`"+epOrder+"`", r.latency[epOrder], bl.Order)
	row("`"+epPay+"`", r.latency[epPay], bl.Pay)
	row("listed -> ordered", r.ordered, bl.Ordered)
	row("listed -> paid", r.paid, bl.Paid)
	meshCPU := r.selfCPU
	for _, c := range r.memory.CPU {
		meshCPU += c
	}
	perMesh, perDirect := 0.0, 0.0
	if r.loops > 0 {
		perMesh = 1000 * meshCPU / float64(r.loops)
	}
	if bl.Loops > 0 {
		perDirect = 1000 * r.baselineCPU / float64(bl.Loops)
	}
	fmt.Fprintf(b, "| CPU ms per purchase (mesh: every process of the mesh and the load generator; direct: NATS, PostgreSQL, stripe-mock and the load generator, which is the services there) | %.1f | %.1f | %s |\n",
		perMesh, perDirect, ratio(perMesh, perDirect))
	if bl.Redelivered > 0 {
		fmt.Fprintf(b, "\nThe baseline's consumers retried %d deliveries that came before what they follow (a ticket's reservation reaching orders before the order that made it), as the mesh's handlers do: not errors.\n", bl.Redelivered)
	}
	if r.baselineErr != nil {
		fmt.Fprintf(b, "\nThe baseline ended with an error: %v\n", r.baselineErr)
	}
	if len(bl.Errors) > 0 {
		fmt.Fprintf(b, "\nBaseline errors:\n\n")
		for _, k := range sortedKeys(bl.Errors) {
			fmt.Fprintf(b, "- %s: %d\n", k, bl.Errors[k])
		}
	}
}

// processesMarkdown gives CPU and memory per process of the mesh over the
// load, apps and sidecars apart.
func (r *purchaseResult) processesMarkdown(b *strings.Builder) {
	m := r.memory
	fmt.Fprintf(b, "\n### Processes during the load (sampled every 0.5 s over %.0f s)\n\n", m.Window.Seconds())
	fmt.Fprintf(b, "Peak PSS (shared pages counted once): **apps + sidecars %.0f MiB**; apps %.0f MiB, sidecars %.0f MiB (the peak of each sum). RSS summed over apps and sidecars %.0f MiB; infrastructure (NATS, PostgreSQL, placement, scheduler, stripe-mock) RSS %.0f MiB.\n\n",
		m.AppsAndSidecarsPSS, m.AppsPSS, m.SidecarsPSS, m.AppsAndSidecars, m.Infrastructure)
	fmt.Fprintf(b, "| process | kind | CPU seconds | average cores | peak PSS (MiB) | peak RSS (MiB) |\n|---|---|---|---|---|---|\n")
	order := map[string]int{"app": 0, "sidecar": 1, "infrastructure": 2}
	names := sortedKeys(m.PerProcess)
	sort.SliceStable(names, func(i, j int) bool {
		ki, kj := order[m.kind(names[i])], order[m.kind(names[j])]
		if ki != kj {
			return ki < kj
		}
		return m.CPU[names[i]] > m.CPU[names[j]]
	})
	secs := m.Window.Seconds()
	if secs <= 0 {
		secs = 1
	}
	total := r.selfCPU
	for _, n := range names {
		total += m.CPU[n]
		pss := "-"
		if p, ok := m.PSS[n]; ok {
			pss = fmt.Sprintf("%.0f", p)
		}
		fmt.Fprintf(b, "| %s | %s | %.1f | %.2f | %s | %.0f |\n", n, m.kind(n), m.CPU[n], m.CPU[n]/secs, pss, m.PerProcess[n])
	}
	fmt.Fprintf(b, "| loadgen (this process) | load | %.1f | %.2f | | |\n", r.selfCPU, r.selfCPU/secs)
	fmt.Fprintf(b, "| all | | %.1f | %.2f | | |\n", total, total/secs)
}
