package mesh

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// An app that owns migrations (apps/<app>/migrations, see apps/pkg/migrate)
// has them applied to its database before it starts, by its own binary:
// `<app> migrate` with MIGRATE_URL set to the database. Dapr creates the
// state table the migrations index when the app's sidecar starts (its
// state.postgresql runs its own migrations while it loads its components), so
// for such an app the runner starts the sidecar, waits for its
// /v1.0/healthz/outbound (components loaded; it does not wait for the app),
// migrates, and only then starts the app: the app never serves before its
// migrations ran, and never with a table Dapr did not make.

// migrateTimeout bounds one app's migrations (an index build on a large table
// takes a while; a hung database must not hang the start).
const migrateTimeout = 5 * time.Minute

// hasMigrations reports whether app a owns migrations.
func (m *Mesh) hasMigrations(a RunApp) bool {
	fi, err := os.Stat(filepath.Join(m.runFile.path(a.AppDirPath), "migrations"))
	return err == nil && fi.IsDir()
}

// migrate runs `<app> migrate` against the app's database; its output goes
// to .mesh/logs/<app>-migrate.log. A failure is an error that quotes the log.
func (m *Mesh) migrate(ctx context.Context, a RunApp) error {
	if !slices.Contains(stateStores, a.AppID) {
		return fmt.Errorf("%s has migrations (%s/migrations) but no database of its own: add it to the runner's stateStores", a.AppID, a.AppDirPath)
	}
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
	env := m.runFile.appEnv(a) // as the app gets it (appProcAs): LOG_FORMAT, ...
	for k := range env {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	for k, v := range m.opts.Env {
		env[k] = v
	}
	env["APP_ID"] = a.AppID
	env["MIGRATE_URL"] = m.PostgresURL(a.AppID)
	path := filepath.Join(m.appBin, filepath.Base(a.AppDirPath))
	logPath := filepath.Join(m.dataDir, "logs", a.AppID+"-migrate.log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "\n==== %s: %s migrate (MIGRATE_URL=%s)\n", time.Now().Format(time.RFC3339), path, env["MIGRATE_URL"])
	cmd := exec.CommandContext(ctx, path, "migrate")
	cmd.Env = mergeEnv(os.Environ(), env)
	cmd.Dir = m.opts.Root
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Run()
	f.Close()
	if err != nil {
		return fmt.Errorf("%s was not started: its migrations failed (%v); last lines of %s:\n%s", a.AppID, err, logPath, indent((&Proc{LogPath: logPath}).Tail(15)))
	}
	return nil
}
