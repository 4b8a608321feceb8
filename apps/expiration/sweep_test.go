package main

import (
	"context"
	"testing"
	"time"
)

// A reminder the scheduler dropped (its deliveries failed while the app was
// down) is fired by the sweep once its deadline is more than grace past;
// nothing else is fired, and a second sweep fires nothing again.
func TestSweepFiresOnlyOverdueSchedules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for id, in := range map[string]time.Duration{"lost": -time.Minute, "recent": -2 * time.Second, "future": time.Minute} {
		if err := f.onCreated(ctx, created(t, id, f.now.Add(in))); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.onCancelled(ctx, cancelled(t, "gone")); err != nil {
		t.Fatal(err)
	}
	if n := f.s.sweep(ctx, 5*time.Second); n != 1 {
		t.Fatalf("swept %d, want 1 (only the order a minute overdue)", n)
	}
	if got := f.expirations(); got != 1 {
		t.Fatalf("%d expiration:complete published, want 1", got)
	}
	sc, _, _, err := f.s.store.get(ctx, "lost")
	if err != nil || sc.Status != statusFired {
		t.Fatalf("lost: %+v %v, want fired", sc, err)
	}
	if n := f.s.sweep(ctx, 5*time.Second); n != 0 || f.expirations() != 1 {
		t.Errorf("a second sweep fired %d more (%d published), want none", n, f.expirations())
	}
	// The reminder arriving late after all changes nothing.
	if err := f.s.fire(ctx, "lost"); err != nil || f.expirations() != 1 {
		t.Errorf("the late reminder: %v, %d published, want nothing new", err, f.expirations())
	}
}

func TestSweepPagesThroughManySchedules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 1234
	for i := range n {
		id := "o" + time.Duration(i).String()
		if err := f.onCreated(ctx, created(t, id, f.now.Add(-time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.s.sweep(ctx, time.Second); got != n {
		t.Fatalf("swept %d, want %d", got, n)
	}
}
