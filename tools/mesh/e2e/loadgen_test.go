package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLoadgenSmoke runs the load generator briefly against the test mesh: it
// checks that the tool works and that its invariants hold, not the speed.
func TestLoadgenSmoke(t *testing.T) {
	runs := []struct {
		name string
		args []string
		want []string
	}{
		{"race", []string{"-scenario", "race", "-rounds", "3", "-buyers", "8"},
			[]string{"| rounds with exactly one winner | 3 of 3 |", "| **rounds with a double booking** | **0** |"}},
		{"distinct", []string{"-scenario", "distinct", "-buyers", "4", "-duration", "3s", "-tickets", "60", "-sample", "5"},
			[]string{"**orders per second**", "| sampled reservations never seen (30 s) | 0 |"}},
	}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			args := append([]string{"run", "../cmd/loadgen", "-url", baseURL}, run.args...)
			out, err := exec.Command("go", args...).CombinedOutput()
			if err != nil {
				t.Fatalf("loadgen %v: %v\n%s", run.args, err, out)
			}
			for _, w := range run.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), "Errors:") {
				t.Errorf("the run had errors:\n%s", out)
			}
		})
	}
}
