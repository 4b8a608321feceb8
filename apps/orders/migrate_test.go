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
	set, err := migrate.Load("orders", files)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// queries are the state queries orders's store makes: the outbox scan alone.
func queries() map[string]string {
	return map[string]string{"outbox scan": migratetest.OutboxQuery}
}

func TestMongoIndexesServeEveryQuery(t *testing.T) {
	migratetest.MongoServes(t, loadMigrations(t), queries())
}

// With TEST_PG_URL: 10,000 orders, their copies of tickets, and a few outbox
// records.
func TestPostgresIndexesServeEveryQuery(t *testing.T) {
	docs := map[string]any{}
	for i := range 10_000 {
		docs[fmt.Sprintf("order|o%05d", i)] = map[string]any{"id": fmt.Sprintf("o%05d", i), "userId": "u1", "status": "created", "expiresAt": time.Now(), "version": 1}
		docs[fmt.Sprintf("ticket|t%05d", i)] = map[string]any{"id": fmt.Sprintf("t%05d", i), "title": "Concert", "price": 20, "version": 1}
	}
	for i := range 20 {
		docs[fmt.Sprintf("outbox|order:created/o%05d/1", i)] = map[string]any{"kind": "outbox", "at": time.Now()}
	}
	migratetest.PostgresServes(t, loadMigrations(t), docs, queries())
}
