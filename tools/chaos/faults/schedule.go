package faults

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Kind is a kind of fault.
type Kind string

const (
	Kill    Kind = "SIGKILL"     // kill -9 one process, then start it again
	Pause   Kind = "SIGSTOP"     // freeze one process for a while, then SIGCONT
	Cut     Kind = "network cut" // take the broker's link down for a while
	KillAll Kind = "kill all"    // kill -9 every process at once, then a cold start
)

// Fault is one planned fault.
type Fault struct {
	Kind   Kind
	Target string        // a process name (Kill, Pause); "" for Cut and KillAll
	Hold   time.Duration // how long it stays down, paused or cut
	Gap    time.Duration // quiet time before it
}

func (f Fault) String() string {
	if f.Target == "" {
		return fmt.Sprintf("%s (%.1f s)", f.Kind, f.Hold.Seconds())
	}
	return fmt.Sprintf("%s %s (%.1f s)", f.Kind, f.Target, f.Hold.Seconds())
}

// Plan says how many faults of each kind to inject.
type Plan struct {
	Kills              int           // per process in Killable
	Pauses             int           // per process in Pausable
	Cuts               int           // network cuts of the broker (0 when it cannot be isolated)
	KillAll            int           // kills of everything at once
	Gap                time.Duration // mean quiet time between faults
	Killable, Pausable []string
}

// Schedule shuffles the plan's faults into a sequence, with random hold
// times and gaps: the same seed gives the same schedule.
func Schedule(seed uint64, p Plan) []Fault {
	rng := rand.New(rand.NewPCG(seed, 0x7ab1e))
	between := func(lo, hi time.Duration) time.Duration {
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
	}
	var fs []Fault
	for range p.Kills {
		for _, t := range p.Killable {
			fs = append(fs, Fault{Kind: Kill, Target: t, Hold: between(0, 2*time.Second)})
		}
	}
	for range p.Pauses {
		for _, t := range p.Pausable {
			fs = append(fs, Fault{Kind: Pause, Target: t, Hold: between(2*time.Second, 5*time.Second)})
		}
	}
	for range p.Cuts {
		fs = append(fs, Fault{Kind: Cut, Hold: between(3*time.Second, 6*time.Second)})
	}
	for range p.KillAll {
		fs = append(fs, Fault{Kind: KillAll, Hold: between(time.Second, 3*time.Second)})
	}
	rng.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	for i := range fs {
		fs[i].Gap = between(p.Gap/2, p.Gap*3/2)
	}
	return fs
}
