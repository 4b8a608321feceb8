package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

// raceResult counts how the rounds of racing buyers ended.
type raceResult struct {
	rounds         int
	oneWinner      int
	doubleBookings int // rounds where more than one order won
	noWinner       int
	statuses       map[int]int
	elapsed        time.Duration
}

// runRace lists one ticket per round and lets every buyer order it at the
// same instant: exactly one may win.
func runRace(ctx context.Context, o options) (*raceResult, error) {
	r := &raceResult{statuses: map[int]int{}}
	seller, err := crowd.SignUp(ctx, o.url, "seller")
	if err != nil {
		return nil, err
	}
	buyers := make([]*crowd.Shopper, o.buyers)
	for i := range buyers {
		if buyers[i], err = crowd.SignUp(ctx, o.url, "racer"); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	for round := range o.rounds {
		ids, err := listTickets(ctx, seller, 1)
		if err != nil {
			return nil, err
		}
		wins := 0
		var mu sync.Mutex
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for _, b := range buyers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				status, _, err := b.Call(ctx, "POST", "/api/orders", map[string]string{"ticketId": ids[0]}, nil)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					r.statuses[0]++
					return
				}
				r.statuses[status]++
				if status == http.StatusCreated {
					wins++
				}
			}()
		}
		close(gate)
		wg.Wait()
		r.rounds++
		switch {
		case wins == 1:
			r.oneWinner++
		case wins > 1:
			r.doubleBookings++
			fmt.Fprintf(os.Stderr, "loadgen: round %d: %d orders won ticket %s\n", round, wins, ids[0])
		default:
			r.noWinner++
		}
	}
	r.elapsed = time.Since(start)
	return r, nil
}

func (r *raceResult) markdown(o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Race: %d rounds of %d buyers ordering one ticket at once\n\n", o.rounds, o.buyers)
	fmt.Fprintf(&b, "Run: `go run ./tools/loadgen -scenario race -rounds %d -buyers %d`, %s, %.1f s.\n\n",
		o.rounds, o.buyers, time.Now().UTC().Format(time.RFC3339), r.elapsed.Seconds())
	fmt.Fprintf(&b, "| measure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| rounds with exactly one winner | %d of %d |\n", r.oneWinner, r.rounds)
	fmt.Fprintf(&b, "| **rounds with a double booking** | **%d** |\n", r.doubleBookings)
	fmt.Fprintf(&b, "| rounds with no winner | %d |\n", r.noWinner)
	fmt.Fprintf(&b, "| answers | %v (0 = transport error) |\n", r.statuses)
	return b.String()
}
