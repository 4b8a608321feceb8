package faults

import (
	"reflect"
	"testing"
	"time"
)

func TestScheduleIsSeededAndComplete(t *testing.T) {
	p := Plan{Kills: 10, Pauses: 2, Cuts: 3, KillAll: 1, Gap: 2 * time.Second,
		Killable: []string{"nats", "orders", "orders-daprd"}, Pausable: []string{"nats", "postgres"}}
	a, b := Schedule(7, p), Schedule(7, p)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two schedules")
	}
	if reflect.DeepEqual(a, Schedule(8, p)) {
		t.Error("another seed gave the same schedule")
	}
	count := map[string]int{}
	for _, f := range a {
		count[string(f.Kind)+" "+f.Target]++
		if f.Gap < time.Second || f.Gap > 3*time.Second {
			t.Errorf("%s: gap %s outside [1s, 3s]", f, f.Gap)
		}
	}
	want := map[string]int{"SIGKILL nats": 10, "SIGKILL orders": 10, "SIGKILL orders-daprd": 10,
		"SIGSTOP nats": 2, "SIGSTOP postgres": 2, "network cut ": 3, "kill all ": 1}
	if !reflect.DeepEqual(count, want) {
		t.Errorf("faults %v, want %v", count, want)
	}
}
