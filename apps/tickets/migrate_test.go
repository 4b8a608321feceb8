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
	set, err := migrate.Load("tickets", files)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// queries are the state queries tickets makes, as it makes them.
func queries() map[string]string {
	return map[string]string{
		"ticket list, first page": forSalePage(50, ""),
		"ticket list, third page": forSalePage(50, "100"),
		"hold sweep":              holdsQuery,
		"outbox scan":             migratetest.OutboxQuery,
	}
}

func TestMongoIndexesServeEveryQuery(t *testing.T) {
	migratetest.MongoServes(t, loadMigrations(t), queries())
}

// With TEST_PG_URL: 10,000 tickets (two thirds for sale), holds, tombstones
// and outbox records, and the plan of each query as Dapr sends it.
func TestPostgresIndexesServeEveryQuery(t *testing.T) {
	docs := map[string]any{}
	now := time.Now()
	for i := range 10_000 {
		tk := Ticket{ID: fmt.Sprintf("t%05d", i), Title: "Concert", Price: 20, UserID: "u1", Version: 1,
			ListedAt: now.Add(-time.Duration(i) * time.Second).UTC().Format(listedAtLayout), Listing: ForSale}
		if i%3 == 0 {
			tk.Listing, tk.OrderID = Reserved, fmt.Sprintf("o%05d", i)
		}
		docs[ticketKey(tk.ID)] = tk
	}
	for i := range 100 {
		docs[holdKey(fmt.Sprintf("t%05d", i))] = hold{Kind: holdKind, TicketID: fmt.Sprintf("t%05d", i), OrderID: fmt.Sprintf("o%05d", i), Since: now}
		docs[releasedKey(fmt.Sprintf("x%05d", i))] = tombstone{OrderID: fmt.Sprintf("x%05d", i), TicketID: "t00001"}
	}
	for i := range 20 {
		docs[fmt.Sprintf("outbox|ticket:updated/t%05d/2", i)] = map[string]any{"kind": "outbox", "at": now}
	}
	migratetest.PostgresServes(t, loadMigrations(t), docs, queries())
}
