package faults

import (
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/check"
	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

// Full is the full run's shape: at least 10 kills of every process kind over
// 10 minutes or more of load.
func Full(seed uint64) Options {
	return Options{
		Seed:             seed,
		Plan:             Plan{Kills: 10, Pauses: 5, Cuts: 10, KillAll: 2, Gap: 2 * time.Second},
		MinLoad:          10 * time.Minute,
		Tail:             20 * time.Second,
		Crowd:            crowd.Options{Sellers: 3, Buyers: 6, Racers: 6, Tickets: 300, HotEvery: time.Second, PayShare: 0.5, CancelShare: 0.1, Sample: 10},
		ExpirationWindow: 20 * time.Second,
		Bounds:           check.Bounds{Expiry: 45 * time.Second, FeeBasisPoints: check.DefaultFeeBasisPoints},
		Settle:           3 * time.Minute,
		NetCut:           true,
	}
}

// Short is the test suite's run: one fault of each kind, a small crowd.
func Short(seed uint64) Options {
	o := Full(seed)
	o.Plan = Plan{Kills: 1, Pauses: 1, Cuts: 1, KillAll: 1, Gap: time.Second}
	o.MinLoad = 30 * time.Second
	o.Tail = 10 * time.Second
	o.Crowd.Buyers, o.Crowd.Racers, o.Crowd.Tickets = 3, 4, 60
	return o
}
