package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBaselineOnTheMeshsServers runs the baseline package's own tests against
// this mesh's NATS and PostgreSQL: a new machine has no other servers.
func TestBaselineOnTheMeshsServers(t *testing.T) {
	if the.Broker() != "jetstream" {
		t.Skip("the baseline uses JetStream")
	}
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestRun$", "-v", "../loadgen/baseline")
	cmd.Env = append(os.Environ(), "BASELINE_NATS_URL="+the.NATSURL(), "BASELINE_PG_URL="+the.PostgresURL("postgres"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("baseline tests: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "SKIP") {
		t.Fatalf("the baseline tests skipped against the mesh's servers:\n%s", out)
	}
}
