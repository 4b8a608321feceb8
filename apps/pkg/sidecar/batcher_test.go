package sidecar_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

func runBatcher(t *testing.T, ob *sidecar.Outbox, max int) *sidecar.Batcher {
	t.Helper()
	b := sidecar.NewBatcher(ob, max)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { b.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return b
}

func TestConcurrentCallsShareTransactions(t *testing.T) {
	state, pub, ob := newCounting()
	state.latency = 5 * time.Millisecond // a store whose commits take time: calls gather meanwhile
	b := runBatcher(t, ob, 64)
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = b.Apply(context.Background(), increment(fmt.Sprintf("k%d", i))) })
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
	b := runBatcher(t, ob, 64)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = b.Apply(context.Background(), increment("hot")) })
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

func TestCallsAfterTheBatcherStoppedCommitAlone(t *testing.T) {
	state, _, ob := newCounting()
	b := sidecar.NewBatcher(ob, 8)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.Run(ctx) // returns at once: ctx is done
	if err := b.Apply(context.Background(), increment("a")); err != nil {
		t.Fatalf("a call after the batcher stopped: %v", err)
	}
	if got := counter(t, state.State, "a"); got != 1 {
		t.Errorf("a = %d, want 1", got)
	}
}
