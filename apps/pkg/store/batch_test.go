package store

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// running runs s's background work until the test ends, and returns once
// its committers take changes.
func running(t *testing.T, s *Store) *Store {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx, Settings{RelayInterval: time.Hour}) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	for !s.running.Load() {
		runtime.Gosched()
	}
	return s
}

func TestConcurrentCallsShareTransactions(t *testing.T) {
	state, pub, ob := newCounting()
	state.latency = 5 * time.Millisecond // a store whose commits take time: calls gather meanwhile
	b := running(t, ob)
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = Apply(context.Background(), b, increment(fmt.Sprintf("k%d", i))) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	for i := range n {
		if got := counter(t, state.State, fmt.Sprintf("k%d", i)); got != 1 {
			t.Fatalf("k%d = %d, want 1", i, got)
		}
	}
	if len(pub.Messages()) != n {
		t.Errorf("published %d events, want %d", len(pub.Messages()), n)
	}
	state.mu.Lock()
	commits := state.commits
	state.mu.Unlock()
	if commits >= n {
		t.Errorf("%d transactions for %d concurrent calls, want fewer (shared)", commits, n)
	}
	t.Logf("%d concurrent calls: %s", n, state.calls())
}

func TestConcurrentCallsOnOneKeyLoseNothing(t *testing.T) {
	// Racers for one ticket: each sees the previous one's write, none is lost.
	state, _, ob := newCounting()
	b := running(t, ob)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = Apply(context.Background(), b, increment("hot")) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if got := counter(t, state.State, "hot"); got != ok {
		t.Errorf("hot = %d after %d successful increments: an update was lost or doubled", got, ok)
	}
	if ok == 0 {
		t.Error("no increment succeeded")
	}
}

func TestChangesAfterRunStoppedCommitInTheirCallers(t *testing.T) {
	state, _, ob := newCounting()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ob.Run(ctx, Settings{RelayInterval: time.Hour}) // returns at once: ctx is done
	if _, err := Apply(context.Background(), ob, increment("a")); err != nil {
		t.Fatalf("a change after Run stopped: %v", err)
	}
	if got := counter(t, state.State, "a"); got != 1 {
		t.Errorf("a = %d, want 1", got)
	}
}
