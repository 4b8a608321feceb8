package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestTheMeshMigratedEveryStore: the runner applied each service's
// migrations (apps/<svc>/migrations) to its database before the app started,
// and recorded every version.
func TestTheMeshMigratedEveryStore(t *testing.T) {
	repo, err := repoDir()
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(repo, "apps", "*", "migrations"))
	if len(dirs) == 0 {
		t.Fatal("no apps/*/migrations")
	}
	for _, dir := range dirs {
		svc := filepath.Base(filepath.Dir(dir))
		if the.App(svc) == nil {
			continue // left out by E2E_APPS
		}
		t.Run(svc, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(dir, "*.sql"))
			c, err := pgx.Connect(t.Context(), the.PostgresURL(svc))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(t.Context())
			var n, latest int
			var services string
			err = c.QueryRow(t.Context(), "SELECT count(*), coalesce(max(version), 0), coalesce(string_agg(DISTINCT service, ','), '') FROM tixmesh_schema").Scan(&n, &latest, &services)
			if err != nil {
				t.Fatalf("%s's schema record: %v", svc, err)
			}
			if n != len(files) || latest != len(files) || services != svc {
				t.Errorf("%s's schema record: %d versions up to %d by %q, want its %d migrations", svc, n, latest, services, len(files))
			}
		})
	}
}

// TestMigrationsOnTheMeshsPostgres runs the migration tests that need a real
// PostgreSQL (apps/pkg/migrate's, and each service's EXPLAIN of its queries
// over 10,000 rows) against this mesh's server: a new machine has no other.
func TestMigrationsOnTheMeshsPostgres(t *testing.T) {
	repo, err := repoDir()
	if err != nil {
		t.Fatal(err)
	}
	pkgs := []string{"./apps/pkg/migrate"}
	dirs, _ := filepath.Glob(filepath.Join(repo, "apps", "*", "migrations"))
	for _, dir := range dirs {
		pkgs = append(pkgs, "./apps/"+filepath.Base(filepath.Dir(dir)))
	}
	cmd := exec.Command("go", append([]string{"test", "-count=1", "-run", "Postgres", "-v"}, pkgs...)...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "TEST_PG_URL="+the.PostgresURL("postgres"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("migration tests: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("migration tests skipped against the mesh's PostgreSQL:\n%s", out)
	}
	t.Logf("%s", out)
}
