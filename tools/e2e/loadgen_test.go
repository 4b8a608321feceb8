package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadgenSmoke runs the load generator briefly against the test mesh: it
// checks that the tool works and that its invariants hold, not the speed.
func TestLoadgenSmoke(t *testing.T) {
	if the.App("payments") == nil {
		t.Skip("needs the whole mesh")
	}
	out := t.TempDir()
	runs := []struct {
		name string
		args []string
		want []string
	}{
		// The crowd: races, distinct orders, payments, cancellations and
		// expiries (8 s window), every invariant checked once they are due.
		{"crowd", []string{"-duration", "5s", "-tickets", "60", "-buyers", "4", "-racers", "4", "-sample", "5",
			"-baseline=false", "-settle", "90s", "-expiry-bound", "15s",
			"-payments-sidecar", fmt.Sprintf("http://127.0.0.1:%d", the.App("payments").DaprHTTP),
			"-mesh-dir", the.DataDir(), "-lateness-url", fmt.Sprintf("http://127.0.0.1:%d/debug/lateness", the.App("expiration").App),
			"-out", filepath.Join(out, "crowd.md")},
			[]string{"| no ticket held by two live orders |", "| no order charged twice |", "| every unpaid order is cancelled within 15s of its deadline, its ticket released |"}},
		{"race", []string{"-scenario", "race", "-rounds", "3", "-buyers", "8"},
			[]string{"| rounds with exactly one winner | 3 of 3 |", "| **rounds with a double booking** | **0** |"}},
		{"distinct", []string{"-scenario", "distinct", "-buyers", "4", "-duration", "3s", "-tickets", "60", "-sample", "5"},
			[]string{"**orders per second**", "| sampled reservations never seen (30 s) | 0 |"}},
		// The buyer's whole path: list, order at once, pay at once.
		{"purchase", []string{"-scenario", "purchase", "-duration", "3s", "-buyers", "2", "-baseline=false"},
			[]string{"**purchases (loops) per second**", "| failed loops | 0 |", "### Errors by endpoint and status\n\nNone."}},
	}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			args := append([]string{"run", "../loadgen", "-url", baseURL}, run.args...)
			out, err := exec.Command("go", args...).Output()
			if err != nil {
				t.Fatalf("loadgen %v: %v\n%s", run.args, err, out)
			}
			for _, w := range run.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), "Errors:") || strings.Contains(string(out), "FAIL") {
				t.Errorf("the run had errors or a failed invariant:\n%s", out)
			}
		})
	}
}
