package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// A slot whose reminder the scheduler dropped (its deliveries failed while the
// app was down) is fired by the sweep once its end is more than grace past;
// nothing else is fired, and a second sweep fires nothing again.
func TestSweepFiresOnlyOverdueSlots(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	at := map[string]time.Time{"lost": f.now.Add(time.Minute), "recent": f.now.Add(time.Minute + 7*time.Second), "future": f.now.Add(time.Hour)}
	for id, deadline := range at {
		if err := f.onCreated(ctx, created(t, id, deadline)); err != nil {
			t.Fatal(err)
		}
	}
	f.now = at["lost"].Add(10 * time.Second) // "lost" is 9 s past its slot's end, "recent" 2 s
	if n := f.s.sweep(ctx, 5*time.Second); n != 1 {
		t.Fatalf("swept %d slots, want 1 (only lost's)", n)
	}
	if got := f.expired(); !slices.Equal(got, []string{"lost"}) {
		t.Fatalf("expired %v, want [lost]", got)
	}
	if n := f.s.sweep(ctx, 5*time.Second); n != 0 || len(f.expired()) != 1 {
		t.Errorf("a second sweep fired %d more (%v expired), want none", n, f.expired())
	}
	// The slot's reminder arriving late after all changes nothing.
	if err := f.s.fireSlot(ctx, slotID(at["lost"])); err != nil || len(f.expired()) != 1 {
		t.Errorf("the late reminder: %v, %v expired, want nothing new", err, f.expired())
	}
}

func TestSweepPagesThroughManySlots(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 1234
	for i := range n {
		deadline := f.now.Add(time.Minute + time.Duration(i)*time.Second)
		if err := f.onCreated(ctx, created(t, fmt.Sprintf("o%d", i), deadline)); err != nil {
			t.Fatal(err)
		}
	}
	f.now = f.now.Add(2 * time.Hour)
	if got := f.s.sweep(ctx, time.Second); got != n {
		t.Fatalf("swept %d slots, want %d", got, n)
	}
	if got := len(f.expired()); got != n {
		t.Errorf("expired %d orders, want %d", got, n)
	}
}
