package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/baseline"
	"github.com/tixmesh/ticketing/tools/loadgen/check"
	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
	"github.com/tixmesh/ticketing/tools/mesh"
)

// crowdResult is what the crowd scenario measured and checked.
type crowdResult struct {
	ledger   *crowd.Ledger
	memory   memorySample
	lateness lateness
	// checks are the invariants' verdicts after the system settled (settled
	// is how long that took); due counts the unpaid orders whose deadline
	// (plus the bound) had passed by the check, unchecked those not yet due.
	checks         []check.Result
	settled        time.Duration
	due, unchecked int
	baseline       *baseline.Result
	baselineErr    error
	chart          string
	latenessErr    error
	expiryBound    time.Duration
}

// runCrowd lets a crowd loose on the mesh, then waits for it to settle,
// checks the invariants, and runs the same workload directly against NATS
// and PostgreSQL for the baseline.
func runCrowd(ctx context.Context, o options) (*crowdResult, error) {
	r := &crowdResult{expiryBound: o.expiryBound}
	samplerCtx, stopSampler := context.WithCancel(ctx)
	mem := startMemorySampler(samplerCtx, 500*time.Millisecond)
	l, err := crowd.Run(ctx, crowd.Options{
		URL: o.url, Sellers: o.sellers, Buyers: o.buyers, Racers: o.racers, Duration: o.duration,
		Tickets: o.tickets, HotEvery: o.hotEvery, PayShare: o.pay, CancelShare: o.cancel,
		Sample: o.sample, Seed: o.seed, Progress: os.Stderr,
	})
	stopSampler()
	r.memory = mem.wait()
	if err != nil {
		return nil, err
	}
	r.ledger = l

	// Unpaid orders must expire: wait for their deadlines (plus the bound)
	// when that fits in -settle; the rest are reported as not yet due.
	var last time.Time
	for _, ord := range l.Orders {
		if !ord.Paid && !ord.Cancelled && ord.ExpiresAt.After(last) {
			last = ord.ExpiresAt
		}
	}
	if wait := time.Until(last.Add(o.expiryBound)); wait > 0 && wait < o.settle {
		fmt.Fprintf(os.Stderr, "loadgen: waiting %.0f s for the last unpaid order's deadline (+%s)\n", wait.Seconds(), o.expiryBound)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	src := check.Sources{PaymentsSidecar: o.paymentsSidecar}
	if rec := recorderURL(o.meshDir); rec != "" {
		src.Charges = func(ctx context.Context) ([]check.Charge, []check.Transfer, error) { return stripeCharges(ctx, rec) }
	}
	fmt.Fprintln(os.Stderr, "loadgen: checking the invariants")
	checks, snap, took, err := check.Converge(ctx, l, src, check.Bounds{Expiry: o.expiryBound, FeeBasisPoints: check.DefaultFeeBasisPoints}, o.settle, os.Stderr)
	if err != nil {
		return nil, err
	}
	r.checks, r.settled = checks, took
	for _, ord := range snap.Orders {
		if ord.Status == "complete" {
			continue
		}
		if snap.At.After(ord.ExpiresAt.Add(o.expiryBound)) {
			r.due++
		} else {
			r.unchecked++
		}
	}
	r.lateness, r.latenessErr = getLateness(ctx, o.latenessURL)

	if o.baseline {
		fmt.Fprintf(os.Stderr, "loadgen: baseline: the same orders straight to NATS (%s) and PostgreSQL, %d buyers for %s\n", o.natsURL, o.buyers, o.baselineDuration)
		r.baseline, r.baselineErr = baseline.Run(ctx, baseline.Options{
			NATSURL: o.natsURL, PostgresURL: o.pgURL, Buyers: o.buyers, Duration: o.baselineDuration,
			Tickets: o.tickets, Sample: o.sample,
		})
	}
	return r, nil
}

// recorderURL finds the Stripe recorder of the mesh running from meshDir.
func recorderURL(meshDir string) string {
	b, err := os.ReadFile(filepath.Join(meshDir, mesh.RecorderFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// stripeCharges reads what the recorder saw Stripe take and give back, and
// send to sellers.
func stripeCharges(ctx context.Context, rec string) ([]check.Charge, []check.Transfer, error) {
	var intents []mesh.StripeIntent
	var calls []mesh.StripeCall
	for path, v := range map[string]any{mesh.RecorderIntentsPath: &intents, mesh.RecorderCallsPath: &calls} {
		req, err := http.NewRequestWithContext(ctx, "GET", rec+path, nil)
		if err != nil {
			return nil, nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, nil, err
		}
		err = json.NewDecoder(resp.Body).Decode(v)
		resp.Body.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	charges, transfers := check.ChargesOf(intents, calls)
	return charges, transfers, nil
}
