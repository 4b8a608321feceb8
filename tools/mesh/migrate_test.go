package mesh

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Every app of dapr.yaml that owns migrations has a database of its own to
// run them against.
func TestAppsWithMigrationsHaveADatabase(t *testing.T) {
	rf, err := LoadRunFile(filepath.Join("..", "..", "dapr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := &Mesh{runFile: rf}
	var with []string
	for _, a := range rf.Apps {
		if m.hasMigrations(a) {
			with = append(with, a.AppID)
			if !slices.Contains(stateStores, a.AppID) {
				t.Errorf("%s has migrations but no database (stateStores)", a.AppID)
			}
		}
	}
	if !slices.Contains(with, "tickets") {
		t.Errorf("apps with migrations: %v; tickets has some", with)
	}
}

// migrate runs the app's binary as `<app> migrate` with its database's URL,
// and a failure says which app was not started, quoting the binary's output.
func TestMigrateRunsTheAppsOwnBinary(t *testing.T) {
	dir := t.TempDir()
	rf := &RunFile{dir: dir, Apps: []RunApp{{AppID: "tickets", AppDirPath: "./apps/tickets"}}}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := &Mesh{runFile: rf, dataDir: filepath.Join(dir, ".mesh"), appBin: filepath.Join(dir, "bin"), ports: Ports{Postgres: 15432}, opts: Options{Root: dir}}
	app := filepath.Join(dir, "bin", "tickets")
	script := func(body string) {
		if err := os.WriteFile(app, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	script(`[ "$1" = migrate ] && [ "$MIGRATE_URL" = "postgres://postgres@127.0.0.1:15432/tickets?sslmode=disable" ] && echo "schema up to date"`)
	if err := m.migrate(context.Background(), rf.Apps[0]); err != nil {
		t.Fatalf("a binary that migrates: %v", err)
	}
	log, _ := os.ReadFile(filepath.Join(m.dataDir, "logs", "tickets-migrate.log"))
	if !strings.Contains(string(log), "schema up to date") {
		t.Errorf("the log has not the binary's output:\n%s", log)
	}

	script(`echo "tickets: migration 0002_ticket_list failed on postgres" >&2; exit 1`)
	err := m.migrate(context.Background(), rf.Apps[0])
	if err == nil || !strings.Contains(err.Error(), "tickets was not started: its migrations failed") || !strings.Contains(err.Error(), "0002_ticket_list failed") {
		t.Errorf("err %v, want one naming tickets and quoting the failure", err)
	}
}
