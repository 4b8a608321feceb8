package migrate_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/tixmesh/ticketing/apps/pkg/migrate"
	"github.com/tixmesh/ticketing/apps/pkg/migrate/migratetest"
)

// These run against a real PostgreSQL: TEST_PG_URL (the end-to-end suite
// sets it to its mesh's server), each test in a database of its own with the
// table Dapr makes.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func set(t *testing.T, files fstest.MapFS) migrate.Set {
	t.Helper()
	s, err := migrate.Load("tickets", files)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func version(n, name, sql string) fstest.MapFS {
	return fstest.MapFS{
		n + "_" + name + ".sql":        {Data: []byte(sql)},
		n + "_" + name + ".mongo.json": {Data: []byte(`[]`)},
	}
}

func folder(versions ...fstest.MapFS) fstest.MapFS {
	out := fstest.MapFS{}
	for _, v := range versions {
		for k, f := range v {
			out[k] = f
		}
	}
	return out
}

var (
	kinds = version("0001", "kinds", `CREATE INDEX IF NOT EXISTS state_kind ON state ((value->>'kind')) WHERE value->>'kind' IS NOT NULL;`)
	list  = version("0002", "list", `
CREATE INDEX IF NOT EXISTS state_list ON state ((value->>'listing'), (value->>'listedAt') DESC);
COMMENT ON INDEX state_list IS 'the ticket list';`)
)

// schema is what the migrations leave: the state table's indexes and the
// schema record.
func schema(t *testing.T, c *pgx.Conn) (indexes []string, records []migrate.Record) {
	t.Helper()
	ctx := context.Background()
	rows, err := c.Query(ctx, "SELECT indexdef FROM pg_indexes WHERE tablename = 'state' ORDER BY indexname")
	if err != nil {
		t.Fatal(err)
	}
	if indexes, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	rows, err = c.Query(ctx, "SELECT version, name, service, applied_at FROM tixmesh_schema ORDER BY version")
	if err != nil {
		return indexes, nil
	}
	records, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (migrate.Record, error) {
		var rec migrate.Record
		return rec, r.Scan(&rec.Version, &rec.Name, &rec.Service, &rec.AppliedAt)
	})
	if err != nil {
		t.Fatal(err)
	}
	return indexes, records
}

func TestPostgresAppliesInOrderOnceAndRecordsEach(t *testing.T) {
	url := migratetest.PostgresDB(t, true)
	c := migratetest.Connect(t, url)
	s := set(t, folder(kinds, list))
	ran, err := s.Apply(t.Context(), url, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 2 {
		t.Fatalf("ran %d, want 2", len(ran))
	}
	indexes, records := schema(t, c)
	if len(indexes) != 3 || !strings.Contains(indexes[0], "state_kind") || !strings.Contains(indexes[1], "state_list") {
		t.Errorf("indexes %v, want the key, state_kind and state_list", indexes)
	}
	if len(records) != 2 || records[0].Name != "kinds" || records[1].Name != "list" || records[1].Service != "tickets" {
		t.Errorf("records %+v", records)
	}

	// Running again changes nothing: no migration runs, no record moves.
	ran, err = s.Apply(t.Context(), url, quiet)
	if err != nil || len(ran) != 0 {
		t.Fatalf("second run: ran %v, err %v", ran, err)
	}
	again, againRecords := schema(t, c)
	if !reflect.DeepEqual(indexes, again) || !reflect.DeepEqual(records, againRecords) {
		t.Errorf("a second run changed the schema:\n%v %+v\n%v %+v", indexes, records, again, againRecords)
	}
}

// A migration that fails rolls back whole (its first statement included),
// is not recorded, and stops the run.
func TestPostgresFailingMigrationChangesNothing(t *testing.T) {
	url := migratetest.PostgresDB(t, true)
	c := migratetest.Connect(t, url)
	broken := version("0002", "broken", `
CREATE INDEX IF NOT EXISTS state_half ON state ((value->>'half'));
CREATE INDEX IF NOT EXISTS state_bad ON state ((value->>'x') DESC) WHERE no_such_column = 1;`)
	third := version("0003", "third", `CREATE INDEX IF NOT EXISTS state_third ON state ((value->>'third'));`)
	_, err := set(t, folder(kinds, broken, third)).Apply(t.Context(), url, quiet)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"migration 0002_broken failed on postgres", "rolled back", "later migrations did not run", "no_such_column"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q lacks %q", err, want)
		}
	}
	indexes, records := schema(t, c)
	for _, ix := range indexes {
		if strings.Contains(ix, "state_half") || strings.Contains(ix, "state_third") {
			t.Errorf("index left behind: %s", ix)
		}
	}
	if len(records) != 1 || records[0].Version != 1 {
		t.Errorf("records %+v, want 0001 alone", records)
	}
}

func TestPostgresRefusesANewerSchema(t *testing.T) {
	url := migratetest.PostgresDB(t, true)
	c := migratetest.Connect(t, url)
	if _, err := set(t, folder(kinds, list)).Apply(t.Context(), url, quiet); err != nil {
		t.Fatal(err)
	}
	before, beforeRecords := schema(t, c)
	_, err := set(t, kinds).Apply(t.Context(), url, quiet)
	if !errors.Is(err, migrate.ErrNewerSchema) || !strings.Contains(err.Error(), "at version 2 (0002_list), this binary knows up to 1") {
		t.Errorf("err %v, want ErrNewerSchema naming both versions", err)
	}
	after, afterRecords := schema(t, c)
	if !reflect.DeepEqual(before, after) || !reflect.DeepEqual(beforeRecords, afterRecords) {
		t.Error("a refused run changed the schema")
	}
}

func TestPostgresWaitsForDaprsTable(t *testing.T) {
	url := migratetest.PostgresDB(t, false)
	_, err := set(t, kinds).Apply(t.Context(), url, quiet)
	if !errors.Is(err, migrate.ErrNoStateTable) || !strings.Contains(err.Error(), "sidecar") {
		t.Errorf("err %v, want ErrNoStateTable saying the sidecar makes it", err)
	}
}

// Two migrators at once (two replicas starting): each migration runs once.
func TestPostgresConcurrentMigratorsApplyOnce(t *testing.T) {
	url := migratetest.PostgresDB(t, true)
	s := set(t, folder(kinds, list))
	var wg sync.WaitGroup
	ran := make([]int, 4)
	errs := make([]error, 4)
	for i := range ran {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Apply(context.Background(), url, quiet)
			ran[i], errs[i] = len(r), err
		}()
	}
	wg.Wait()
	total := 0
	for i := range ran {
		if errs[i] != nil {
			t.Errorf("migrator %d: %v", i, errs[i])
		}
		total += ran[i]
	}
	if total != 2 {
		t.Errorf("%d migrations ran in all, want each of the 2 once", total)
	}
	_, records := schema(t, migratetest.Connect(t, url))
	if len(records) != 2 {
		t.Errorf("records %+v", records)
	}
}
