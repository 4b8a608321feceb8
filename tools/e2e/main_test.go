// Package e2e drives the real local mesh (daprd sidecars, a broker, PostgreSQL,
// placement, scheduler, stripe-mock) through its public origin, the way a
// user's client would. TestMain starts one mesh on free ports in a temporary
// directory, with the same runner code as `make up`, on the broker E2E_BROKER
// names (jetstream, the default; redis; rabbitmq): the same tests, with the
// same assertions, pass on each.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/tools/mesh"
)

// the mesh every test in this package uses
var (
	the     *mesh.Mesh
	baseURL string
	// tracer receives every span of every sidecar
	tracer *spans
)

// testEnv shortens what tests would otherwise wait for, and lifts the sign-up
// rate limit that the tests' many users from one address would hit.
var testEnv = map[string]string{
	"ORDER_EXPIRATION_WINDOW": "8s",
	"AUTH_RATE_PER_SECOND":    "1000",
	"AUTH_RATE_BURST":         "1000",
	"BCRYPT_COST":             "4",
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	repo, err := repoDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	root, err := os.MkdirTemp("", "tixmesh-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The first run on a machine builds the Dapr runtime: minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	tracer = newSpans()
	defer tracer.srv.Close()
	the, err = mesh.Up(ctx, mesh.Options{
		ZipkinURL: tracer.url(),
		RepoDir:   repo,
		Root:      root,
		FreePorts: true,
		Broker:    os.Getenv("E2E_BROKER"),
		Env:       testEnv,
		Apps:      appsFromEnv(),
		Progress:  os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the mesh did not start:", err)
		fmt.Fprintln(os.Stderr, "e2e: logs are in", filepath.Join(root, ".mesh", "logs"))
		return 1
	}
	baseURL = the.URL()
	fmt.Fprintln(os.Stderr, "e2e: broker", the.Broker())
	code := m.Run()
	if code == 0 {
		the.Destroy()
		_ = os.RemoveAll(root)
	} else {
		the.Stop()
		fmt.Fprintln(os.Stderr, "e2e: logs kept in", filepath.Join(root, ".mesh", "logs"))
	}
	return code
}

// appsFromEnv lets a developer start fewer apps (E2E_APPS=auth,client) while
// working on one service; tests of apps that are not running fail.
func appsFromEnv() []string {
	var apps []string
	for _, a := range strings.Split(os.Getenv("E2E_APPS"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			apps = append(apps, a)
		}
	}
	return apps
}

func repoDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "dapr.yaml")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no dapr.yaml above %s", dir)
}
