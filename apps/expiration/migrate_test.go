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
	set, err := migrate.Load("expiration", files)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// queries are the state queries expiration makes, as it makes them.
func queries() map[string]string {
	return map[string]string{
		"slot sweep, first page":  slotsPage(""),
		"slot sweep, second page": slotsPage("500"),
		"outbox scan":             migratetest.OutboxQuery,
	}
}

func TestMongoIndexesServeEveryQuery(t *testing.T) {
	migratetest.MongoServes(t, loadMigrations(t), queries())
}

// With TEST_PG_URL: 10,000 deadlines' worth of actor state and fired slots'
// leftovers, 1,000 slots still held, a few outbox records.
func TestPostgresIndexesServeEveryQuery(t *testing.T) {
	docs := map[string]any{}
	now := time.Now()
	for i := range 10_000 {
		docs[fmt.Sprintf("ExpirationSlot||%d||state", i)] = map[string]any{"orders": []string{fmt.Sprintf("o%05d", i)}}
	}
	for i := range 1_000 {
		id, start := slotOf(now.Add(time.Duration(i)*time.Second), time.Second)
		docs[slotKey(id)] = slot{Kind: slotKind, ID: id, Start: start, Orders: []string{fmt.Sprintf("o%05d", i)}}
	}
	for i := range 20 {
		docs[fmt.Sprintf("outbox|expiration:complete/o%05d", i)] = map[string]any{"kind": "outbox", "at": now}
	}
	migratetest.PostgresServes(t, loadMigrations(t), docs, queries())
}
