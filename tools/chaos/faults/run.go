// Package faults runs the marketplace under a crowd while it injects faults
// from a seeded schedule (processes killed and restarted, frozen, the
// broker's network cut, everything killed at once and cold-started), then
// lets it settle and checks every promise with package check.
package faults

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/check"
	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
	"github.com/tixmesh/ticketing/tools/mesh"
)

// Options shape a fault run.
type Options struct {
	RepoDir string
	Root    string // the mesh's data lives in Root/.mesh (a fresh directory)
	Seed    uint64
	Plan    Plan
	// MinLoad: the load runs at least this long, and on until the last
	// fault has healed plus Tail.
	MinLoad, Tail time.Duration
	Crowd         crowd.Options // URL is filled in
	// ExpirationWindow is the orders' window (ORDER_EXPIRATION_WINDOW).
	ExpirationWindow time.Duration
	// Bounds: how late an expiry may be (the scheduler needs ~20 s after a
	// SIGKILL); Settle: how long the system may take to agree afterwards.
	Bounds check.Bounds
	Settle time.Duration
	// NetCut isolates the broker in its own network namespace so that its
	// link can be cut (needs root and ip(8)).
	NetCut bool
	// SidecarLogLevel, when set, is every daprd's log level (debug logs each
	// JetStream delivery: for a post-mortem).
	SidecarLogLevel string
	Progress        io.Writer
}

// Result is a fault run's outcome.
type Result struct {
	Options   Options
	Faults    []Record
	Exits     []Exit
	Ledger    *crowd.Ledger
	Checks    []check.Result
	Snapshot  *check.Snapshot
	Settled   time.Duration
	Started   time.Time
	Stripe    []mesh.StripeCall
	NetCutErr string // why no network cut was possible, if not
}

// Killable lists every process kind of the mesh: each app, each sidecar and
// each piece of infrastructure.
func Killable(m *mesh.Mesh) []string {
	var out []string
	for _, p := range m.Procs() {
		out = append(out, p.Name)
	}
	return out
}

// Run starts a fresh mesh under opts.Root, runs the crowd and the faults,
// settles, checks, and stops the mesh.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	res := &Result{Options: o}
	env := map[string]string{
		"ORDER_EXPIRATION_WINDOW": o.ExpirationWindow.String(),
		// "event handled" lines (with each event's id) are logged at debug:
		// the checker counts deliveries from them.
		"LOG_LEVEL": "debug",
	}
	up := func(isolate bool) (*mesh.Mesh, error) {
		return mesh.Up(ctx, mesh.Options{RepoDir: o.RepoDir, Root: o.Root, FreePorts: true, Env: env, IsolateBroker: isolate, SidecarLogLevel: o.SidecarLogLevel, Progress: o.Progress})
	}
	m, err := up(o.NetCut)
	if err != nil && o.NetCut {
		res.NetCutErr = err.Error()
		fmt.Fprintf(o.Progress, "chaos: the broker cannot be isolated (%v): no network cuts\n", err)
		o.Plan.Cuts = 0
		m, err = up(false)
	}
	if err != nil {
		return nil, err
	}
	// A failed run keeps its data and logs for the post-mortem.
	defer func() {
		if res.Checks != nil && check.Passed(res.Checks) {
			m.Destroy()
			return
		}
		m.Stop()
		fmt.Fprintf(o.Progress, "chaos: the mesh's data and logs are kept in %s\n", m.DataDir())
	}()
	if o.Plan.Killable == nil {
		o.Plan.Killable = Killable(m)
	}
	if o.Plan.Pausable == nil {
		o.Plan.Pausable = []string{"nats", "postgres", sidecars[rand.New(rand.NewPCG(o.Seed, 1)).IntN(len(sidecars))] + "-daprd"}
	}
	res.Options = o
	schedule := Schedule(o.Seed, o.Plan)
	fmt.Fprintf(o.Progress, "chaos: seed %d: %d faults planned\n", o.Seed, len(schedule))

	in := newInjector(m, o.Progress)
	superviseCtx, stopSupervising := context.WithCancel(ctx)
	defer stopSupervising()
	go in.supervise(superviseCtx)

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loading := make(chan struct{})
	co := o.Crowd
	co.URL, co.Duration, co.Refill, co.Seed = m.URL(), 24*time.Hour, true, o.Seed
	co.OnLoad = func() { close(loading) }
	co.Progress = o.Progress
	type crowdOut struct {
		l   *crowd.Ledger
		err error
	}
	crowdDone := make(chan crowdOut, 1)
	go func() {
		l, err := crowd.Run(loadCtx, co)
		crowdDone <- crowdOut{l, err}
	}()
	select {
	case <-loading:
	case out := <-crowdDone:
		return nil, fmt.Errorf("the crowd never started: %v", out.err)
	}
	res.Started = time.Now()
	for i, f := range schedule {
		pause(ctx, f.Gap)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		fmt.Fprintf(o.Progress, "chaos: fault %d of %d at %.0f s: ", i+1, len(schedule), time.Since(res.Started).Seconds())
		res.Faults = append(res.Faults, in.inject(ctx, f))
	}
	if rest := o.MinLoad - time.Since(res.Started); rest > 0 {
		pause(ctx, rest)
	}
	pause(ctx, o.Tail)
	stopLoad()
	out := <-crowdDone
	if out.err != nil {
		return nil, fmt.Errorf("the crowd: %w", out.err)
	}
	res.Ledger = out.l
	stopSupervising()
	in.mu.Lock()
	res.Exits = append(res.Exits, in.exits...)
	in.mu.Unlock()

	// Every unpaid order must be cancelled by its deadline + the bound.
	var last time.Time
	for _, ord := range res.Ledger.Orders {
		if ord.ExpiresAt.After(last) {
			last = ord.ExpiresAt
		}
	}
	fmt.Fprintf(o.Progress, "chaos: load stopped; waiting for the last deadline (+%s), then checking\n", o.Bounds.Expiry)
	pause(ctx, time.Until(last.Add(o.Bounds.Expiry)))
	pay := m.App("payments")
	src := check.Sources{
		PaymentsSidecar: "http://127.0.0.1:" + strconv.Itoa(pay.DaprHTTP),
		Charges: func(context.Context) ([]check.Charge, []check.Transfer, error) {
			charges, transfers := check.ChargesOf(m.StripeIntents(), m.StripeCalls())
			return charges, transfers, nil
		},
		Deliveries: deliveries(m),
	}
	res.Checks, res.Snapshot, res.Settled, err = check.Converge(ctx, res.Ledger, src, o.Bounds, o.Settle, o.Progress)
	res.Stripe = m.StripeCalls()
	return res, err
}

// sidecars whose pause the schedule may pick.
var sidecars = []string{"tickets", "orders", "payments", "expiration"}
