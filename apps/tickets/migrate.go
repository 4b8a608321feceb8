package main

import (
	"context"
	"embed"
	"io"
	"io/fs"

	"github.com/tixmesh/ticketing/apps/pkg/migrate"
)

// migrationFiles are tickets's migrations of its own store (migrations/): the
// indexes its queries need, for PostgreSQL and for MongoDB.
//
//go:embed migrations
var migrationFiles embed.FS

// runMigrations is `tickets migrate`: it applies migrations/ to the store at
// MIGRATE_URL, then exits. The local runner runs it before it starts the app,
// the cluster in the app pod's init container.
func runMigrations(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	files, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	return migrate.Main(ctx, "tickets", files, getenv, stdout)
}
