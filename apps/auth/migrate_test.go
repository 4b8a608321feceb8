package main

import (
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/migrate"
	"github.com/tixmesh/ticketing/apps/pkg/migrate/migratetest"
)

func loadMigrations(t *testing.T) migrate.Set {
	t.Helper()
	files, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	set, err := migrate.Load("auth", files)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// queries are the state queries auth's store makes: the outbox scan alone.
func queries() map[string]string {
	return map[string]string{"outbox scan": migratetest.OutboxQuery}
}

func TestMongoIndexesServeEveryQuery(t *testing.T) {
	migratetest.MongoServes(t, loadMigrations(t), queries())
}

// With TEST_PG_URL: 10,000 users and a few outbox records.
func TestPostgresIndexesServeEveryQuery(t *testing.T) {
	docs := map[string]any{}
	for i := range 10_000 {
		u := User{ID: fmt.Sprintf("u%05d", i), Email: fmt.Sprintf("u%05d@example.com", i), PasswordHash: []byte("x"), CreatedAt: time.Now(), Version: 1}
		docs["user|"+u.ID] = u
	}
	for i := range 5 {
		docs[fmt.Sprintf("outbox|e%d", i)] = map[string]any{"kind": "outbox", "at": time.Now()}
	}
	migratetest.PostgresServes(t, loadMigrations(t), docs, queries())
}
