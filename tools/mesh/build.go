package mesh

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnsureRuntime builds (once per machine and version) and returns the
// directory of daprd, placement, scheduler, nats-server and stripe-mock.
func EnsureRuntime(ctx context.Context, repoDir string, progress io.Writer) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoDir, "tools", "runtime", "build.sh"))
	cmd.Stderr = progress
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building the Dapr runtime: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

// buildApps compiles every app of dapr.yaml in one go build.
func (m *Mesh) buildApps(ctx context.Context) error {
	m.appBin = filepath.Join(m.dataDir, "bin")
	args := []string{"build", "-o", m.appBin + string(filepath.Separator)}
	for _, a := range m.runFile.Apps {
		args = append(args, "./"+filepath.ToSlash(filepath.Clean(a.AppDirPath)))
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = m.runFile.Dir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("building the apps failed:\n%s", indent(strings.TrimSpace(string(out))))
	}
	return nil
}
