package main

import (
	"encoding/json"
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
	set, err := migrate.Load("payments", files)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// queries are the state queries payments makes: the reconciler's scan of
// each open status (as openBefore builds it), the outbox scan, the scan of
// shares waiting for their seller (pendingTransfers) and a seller's sales
// (salesOf).
func queries() map[string]string {
	out := map[string]string{"outbox scan": migratetest.OutboxQuery}
	for _, status := range []string{"pending", "requires_action", "processing"} {
		q, _ := json.Marshal(map[string]any{
			"filter": map[string]any{"EQ": map[string]any{"status": status}},
			"page":   map[string]any{"limit": 200, "token": ""},
		})
		out["reconciler, "+status] = string(q)
	}
	for name, filter := range map[string]map[string]any{
		"pending transfers": {"transfer": "pending"},
		"a seller's sales":  {"sellerId": "s00042"},
	} {
		q, _ := json.Marshal(map[string]any{"filter": map[string]any{"EQ": filter}, "page": map[string]any{"limit": 200, "token": ""}})
		out[name] = string(q)
	}
	return out
}

func TestMongoIndexesServeEveryQuery(t *testing.T) {
	migratetest.MongoServes(t, loadMigrations(t), queries())
}

// With TEST_PG_URL: 10,000 settled payments, 10,000 orders of the read
// model, a few open payments and outbox records.
func TestPostgresIndexesServeEveryQuery(t *testing.T) {
	docs := map[string]any{}
	for i := range 10_000 {
		status := "succeeded"
		if i%500 == 0 {
			status = []string{"pending", "requires_action", "processing"}[i/500%3]
		}
		transfer := "destination"
		if i%700 == 0 {
			transfer = "pending"
		}
		docs[fmt.Sprintf("payment|o%05d", i)] = map[string]any{"orderId": fmt.Sprintf("o%05d", i), "status": status, "attemptAt": time.Now(),
			"sellerId": fmt.Sprintf("s%05d", i%1000), "transfer": transfer}
		docs[fmt.Sprintf("order|o%05d", i)] = map[string]any{"id": fmt.Sprintf("o%05d", i), "status": "created", "version": 1}
	}
	for i := range 20 {
		docs[fmt.Sprintf("outbox|payment:created/o%05d", i)] = map[string]any{"kind": "outbox", "at": time.Now()}
	}
	migratetest.PostgresServes(t, loadMigrations(t), docs, queries())
}
