// Command chaos runs the whole marketplace on free ports under a crowd, kills,
// freezes and cuts off its processes from a seeded schedule, lets it settle,
// and checks that every promise held. It writes a Markdown report and a PNG
// timeline, and exits 1 if an invariant broke.
//
//	go run ./tools/chaos            # the full run: >= 10 kills per process kind
//	go run ./tools/chaos -short     # one fault of each kind (the test suite's)
//	go run ./tools/chaos -seed 42   # replay a run
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tixmesh/ticketing/tools/chaos/faults"
	"github.com/tixmesh/ticketing/tools/loadgen/check"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	o := faults.Short(uint64(time.Now().UnixNano()))
	short := fs.Bool("short", false, "one fault of each kind and a small crowd (about 3 minutes)")
	seed := fs.Uint64("seed", o.Seed, "the schedule's and the crowd's seed (printed; the same seed replays the run)")
	kills := fs.Int("kills", 10, "SIGKILLs per process kind (every app, sidecar, NATS, PostgreSQL, placement, scheduler, stripe-mock)")
	pauses := fs.Int("pauses", 5, "SIGSTOP/SIGCONT per paused process (NATS, PostgreSQL, one sidecar)")
	cuts := fs.Int("cuts", 10, "network cuts of the broker")
	killAll := fs.Int("kill-all", 2, "kills of every process at once, each followed by a cold start")
	gap := fs.Duration("gap", 2*time.Second, "mean quiet time between faults")
	minLoad := fs.Duration("min-load", 10*time.Minute, "the load runs at least this long")
	buyers := fs.Int("buyers", 6, "buyers of distinct tickets")
	racers := fs.Int("racers", 6, "buyers racing for each hot ticket")
	repo := fs.String("repo", ".", "the repository (dapr.yaml, components/, apps/)")
	out := fs.String("out", "out/chaos/report.md", "the Markdown report (the PNG timeline goes beside it)")
	sidecarLog := fs.String("sidecar-log-level", "", "every daprd's log level (debug: each JetStream delivery is logged, for a post-mortem)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *short {
		o = faults.Short(*seed)
	} else {
		o = faults.Full(*seed)
		o.Plan.Kills, o.Plan.Pauses, o.Plan.Cuts, o.Plan.KillAll, o.Plan.Gap = *kills, *pauses, *cuts, *killAll, *gap
		o.MinLoad, o.Crowd.Buyers, o.Crowd.Racers = *minLoad, *buyers, *racers
	}
	o.Seed = *seed
	o.SidecarLogLevel = *sidecarLog
	repoDir, err := filepath.Abs(*repo)
	if err != nil {
		return err
	}
	o.RepoDir = repoDir
	if o.Root, err = os.MkdirTemp("", "tixmesh-chaos-"); err != nil {
		return err
	}
	o.Progress = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	res, err := faults.Run(ctx, o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	png := strings.TrimSuffix(*out, filepath.Ext(*out)) + ".png"
	if err := res.WriteChart(png); err != nil {
		return err
	}
	report := res.Markdown("go run ./tools/chaos "+strings.Join(args, " "), filepath.Base(png))
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		return err
	}
	fmt.Print(report)
	fmt.Fprintf(os.Stderr, "chaos: report in %s, timeline in %s\n", *out, png)
	if !check.Passed(res.Checks) {
		return fmt.Errorf("an invariant broke (seed %d)", o.Seed)
	}
	return nil
}
