// Package migratetest helps a service test its migrations: against a real
// PostgreSQL (a database of its own on the server TEST_PG_URL names, with the
// table Dapr's state.postgresql v1 makes), and, since no MongoDB can run
// here, against what its MongoDB migrations would send.
//
// It also knows what Dapr 1.16.5's stores send for a state query (the SQL of
// state.postgresql v1, the find of state.mongodb), so a test can check that
// the indexes serve the queries the service really makes.
package migratetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/tixmesh/ticketing/apps/pkg/migrate"
)

// PostgresURLEnv names the PostgreSQL server the tests use: an admin URL
// (one that may CREATE DATABASE). The end-to-end suite sets it to its mesh's
// server; without it the PostgreSQL tests skip.
const PostgresURLEnv = "TEST_PG_URL"

// DaprStateTable is the table Dapr's state.postgresql v1 creates as its
// sidecar starts: components-contrib v1.16.5,
// state/postgresql/v1/migrations.go, migrations 0 and 1.
const DaprStateTable = `CREATE TABLE state (
	key text NOT NULL PRIMARY KEY,
	value jsonb NOT NULL,
	isbinary boolean NOT NULL,
	insertdate TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
	updatedate TIMESTAMP WITH TIME ZONE NULL
);
ALTER TABLE state ADD expiredate TIMESTAMP WITH TIME ZONE`

// PostgresDB creates a database of its own on the TEST_PG_URL server, with
// Dapr's state table when withStateTable, drops it when the test ends, and
// returns its URL. Without TEST_PG_URL, or when the server does not answer,
// the test is skipped.
func PostgresDB(t testing.TB, withStateTable bool) string {
	t.Helper()
	admin := os.Getenv(PostgresURLEnv)
	if admin == "" {
		t.Skipf("%s unset (a PostgreSQL admin URL, e.g. postgres://postgres@127.0.0.1:<port>/postgres): the end-to-end suite sets it to its mesh's server", PostgresURLEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Skipf("no PostgreSQL at %s: %v", PostgresURLEnv, err)
	}
	defer c.Close(ctx)
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "migratetest_" + hex.EncodeToString(b[:])
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u := withDatabase(admin, name)
	if withStateTable {
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, DaprStateTable); err != nil {
			t.Fatalf("Dapr's state table: %v", err)
		}
	}
	return u
}

// withDatabase is a postgres:// URL with its database replaced.
func withDatabase(rawURL, db string) string {
	rest, query, _ := strings.Cut(rawURL, "?")
	scheme, hostPath, _ := strings.Cut(rest, "://")
	host, _, _ := strings.Cut(hostPath, "/")
	out := scheme + "://" + host + "/" + db
	if query != "" {
		out += "?" + query
	}
	return out
}

// Connect connects to url for the length of the test.
func Connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// Put stores docs as Dapr does, under the app's key prefix ("tickets||"),
// each as JSON in value, and refreshes the planner's statistics.
func Put(t testing.TB, c *pgx.Conn, appID string, docs map[string]any) {
	t.Helper()
	rows := make([][]any, 0, len(docs))
	for k, d := range docs {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, []any{appID + "||" + k, string(b), false})
	}
	ctx := context.Background()
	if _, err := c.CopyFrom(ctx, pgx.Identifier{"state"}, []string{"key", "value", "isbinary"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatalf("storing %d documents: %v", len(rows), err)
	}
	if _, err := c.Exec(ctx, "ANALYZE state"); err != nil {
		t.Fatal(err)
	}
}

// query is the part of Dapr's state query language the services use.
type query struct {
	Filter map[string]json.RawMessage `json:"filter"`
	Sort   []struct {
		Key   string `json:"key"`
		Order string `json:"order"`
	} `json:"sort"`
	Page struct {
		Limit int    `json:"limit"`
		Token string `json:"token"`
	} `json:"page"`
}

type eq struct {
	key string
	val any
}

func parse(q string) (query, []eq, error) {
	var qq query
	if err := json.Unmarshal([]byte(q), &qq); err != nil {
		return qq, nil, err
	}
	var eqs []eq
	var walk func(f map[string]json.RawMessage) error
	walk = func(f map[string]json.RawMessage) error {
		for op, body := range f {
			switch op {
			case "EQ":
				var m map[string]any
				if err := json.Unmarshal(body, &m); err != nil || len(m) != 1 {
					return fmt.Errorf("EQ %s: want one field", body)
				}
				for k, v := range m {
					eqs = append(eqs, eq{k, v})
				}
			case "AND":
				var fs []map[string]json.RawMessage
				if err := json.Unmarshal(body, &fs); err != nil {
					return err
				}
				for _, sub := range fs {
					if err := walk(sub); err != nil {
						return err
					}
				}
			default:
				return fmt.Errorf("filter %s: only EQ and AND are modelled here", op)
			}
		}
		return nil
	}
	return qq, eqs, walk(qq.Filter)
}

// DaprSQL is the statement and arguments Dapr's state.postgresql v1 sends for
// a state query, as components-contrib v1.16.5's
// common/component/postgresql/v1/postgresql_query.go builds it (table
// `state`, ETag column xmin): each EQ is whereFieldEqual's
// `value->>'field'=$n` (translateFieldToFilter; value->'a'->>'b' for a.b)
// with the value bound as text (fmt's %v), several joined in parentheses
// with AND; then Finalize's ORDER BY of the same expressions, LIMIT, and the
// page token as OFFSET.
func DaprSQL(q string) (string, []any, error) {
	qq, eqs, err := parse(q)
	if err != nil {
		return "", nil, err
	}
	sql := "SELECT key, value, xmin as etag FROM state"
	var args []any
	var conds []string
	for _, e := range eqs {
		args = append(args, fmt.Sprintf("%v", e.val))
		conds = append(conds, daprField(e.key)+"=$"+strconv.Itoa(len(args)))
	}
	switch len(conds) {
	case 0:
	case 1:
		sql += " WHERE " + conds[0]
	default:
		sql += " WHERE (" + strings.Join(conds, " AND ") + ")"
	}
	for i, s := range qq.Sort {
		if i == 0 {
			sql += " ORDER BY "
		} else {
			sql += ", "
		}
		sql += daprField(s.Key)
		if s.Order != "" {
			sql += " " + s.Order
		}
	}
	if qq.Page.Limit > 0 {
		sql += " LIMIT " + strconv.Itoa(qq.Page.Limit)
	}
	if qq.Page.Token != "" {
		skip, err := strconv.ParseInt(qq.Page.Token, 10, 64)
		if err != nil {
			return "", nil, err
		}
		sql += " OFFSET " + strconv.FormatInt(skip, 10)
	}
	return sql, args, nil
}

// daprField is translateFieldToFilter: value->>'a', value->'a'->>'b', ...
func daprField(key string) string {
	parts := strings.Split(key, ".")
	out := "value"
	for i, p := range parts {
		out += "->"
		if i == len(parts)-1 {
			out += ">"
		}
		out += "'" + p + "'"
	}
	return out
}

// Explain returns PostgreSQL's plan for sql as Dapr's pgx runs it: a
// prepared statement with args as parameters, executed six times first, so
// that the plan cache has made its choice between a custom plan (parameters
// known) and the generic one.
func Explain(t testing.TB, c *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	explained++
	name := "explain_" + strconv.Itoa(explained)
	params := make([]string, len(args))
	values := make([]string, len(args))
	for i, a := range args {
		params[i] = "text"
		values[i] = quote(fmt.Sprint(a))
	}
	prep := "PREPARE " + name
	exec := "EXECUTE " + name
	if len(args) > 0 {
		prep += "(" + strings.Join(params, ", ") + ")"
		exec += "(" + strings.Join(values, ", ") + ")"
	}
	if _, err := c.Exec(ctx, prep+" AS "+sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer c.Exec(ctx, "DEALLOCATE "+name)
	for range 6 {
		if _, err := c.Exec(ctx, exec); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := c.Query(ctx, "EXPLAIN (ANALYZE, COSTS, TIMING OFF, SUMMARY OFF) "+exec)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// explained numbers the statements Explain prepares.
var explained int

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// MongoFind is the filter and sort Dapr's state.mongodb sends for a state
// query (components-contrib v1.16.5, state/mongodb/mongodb_query.go): every
// field under value (`value.listing`), EQ as equality, AND as $and, DESC as
// -1.
func MongoFind(q string) (filter, sort bson.D, err error) {
	qq, eqs, err := parse(q)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range eqs {
		filter = append(filter, bson.E{Key: "value." + e.key, Value: e.val})
	}
	if len(filter) > 1 {
		var and bson.A
		for _, e := range filter {
			and = append(and, bson.D{e})
		}
		filter = bson.D{{Key: "$and", Value: and}}
	}
	for _, s := range qq.Sort {
		dir := 1
		if strings.EqualFold(s.Order, "DESC") {
			dir = -1
		}
		sort = append(sort, bson.E{Key: "value." + s.Key, Value: dir})
	}
	return filter, sort, nil
}

// MongoIndex is an index a set's MongoDB migrations create.
type MongoIndex struct {
	Name    string
	Key     bson.D
	Partial bson.D // partialFilterExpression, if any
}

// MongoIndexes lists the indexes created by the set's createIndexes
// commands, in order.
func MongoIndexes(set migrate.Set) []MongoIndex {
	var out []MongoIndex
	for _, m := range set.Migrations {
		for _, cmd := range m.Mongo {
			if cmd[0].Key != "createIndexes" {
				continue
			}
			specs, _ := lookup(cmd, "indexes").(bson.A)
			for _, s := range specs {
				spec, _ := s.(bson.D)
				ix := MongoIndex{}
				ix.Name, _ = lookup(spec, "name").(string)
				ix.Key, _ = lookup(spec, "key").(bson.D)
				ix.Partial, _ = lookup(spec, "partialFilterExpression").(bson.D)
				out = append(out, ix)
			}
		}
	}
	return out
}

func lookup(d bson.D, key string) any {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return nil
}

// ServingIndex names the first index that serves the find Dapr's
// state.mongodb sends for q, or "" if none does. An index serves it when its
// key starts with the query's equality fields (in any order), continues with
// its sort fields in the sort's directions (or all reversed), and its
// partial filter, if any, holds for every document the query matches
// ({f: {$exists: true}}, {f: v} or {f: {$in: [...]}} on an equality field).
// This is the rule MongoDB's planner follows for an index scan that needs
// no in-memory sort; it is not the planner.
func ServingIndex(set migrate.Set, q string) (string, error) {
	filter, sort, err := MongoFind(q)
	if err != nil {
		return "", err
	}
	eqs := map[string]any{}
	for _, e := range filter {
		if e.Key == "$and" {
			for _, sub := range e.Value.(bson.A) {
				d := sub.(bson.D)
				eqs[d[0].Key] = d[0].Value
			}
			continue
		}
		eqs[e.Key] = e.Value
	}
	for _, ix := range MongoIndexes(set) {
		if servesFind(ix, eqs, sort) {
			return ix.Name, nil
		}
	}
	return "", nil
}

func servesFind(ix MongoIndex, eqs map[string]any, sort bson.D) bool {
	if len(ix.Key) < len(eqs)+len(sort) || len(eqs)+len(sort) == 0 {
		return false
	}
	for _, k := range ix.Key[:len(eqs)] {
		if _, ok := eqs[k.Key]; !ok {
			return false
		}
	}
	flip := 0
	for i, s := range sort {
		k := ix.Key[len(eqs)+i]
		if k.Key != s.Key {
			return false
		}
		same := direction(k.Value) == s.Value.(int)
		switch {
		case flip == 0 && same:
			flip = 1
		case flip == 0:
			flip = -1
		case (flip == 1) != same:
			return false
		}
	}
	for _, p := range ix.Partial {
		v, ok := eqs[p.Key]
		if !ok {
			return false
		}
		switch cond := p.Value.(type) {
		case bson.D:
			switch {
			case len(cond) == 1 && cond[0].Key == "$exists" && cond[0].Value == true:
				if v == nil {
					return false
				}
			case len(cond) == 1 && cond[0].Key == "$in":
				list, _ := cond[0].Value.(bson.A)
				if !slices.Contains(list, v) {
					return false
				}
			default:
				return false
			}
		default:
			if cond != v {
				return false
			}
		}
	}
	return true
}

func direction(v any) int {
	switch n := v.(type) {
	case int32:
		return int(n)
	case int64:
		return int(n)
	case int:
		return n
	case float64:
		return int(n)
	}
	return 0
}

// OutboxQuery is the outbox relay's scan, which every service's store makes
// (apps/pkg/store/outbox.go, relayPage).
const OutboxQuery = `{"filter":{"EQ":{"kind":"outbox"}},"page":{"limit":200}}`

// MongoServes fails the test for each query (by name) that no index of the
// set's MongoDB migrations serves (ServingIndex).
func MongoServes(t *testing.T, set migrate.Set, queries map[string]string) {
	t.Helper()
	for name, q := range queries {
		ix, err := ServingIndex(set, q)
		switch {
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case ix == "":
			filter, sort, _ := MongoFind(q)
			t.Errorf("%s: no index of %s's MongoDB migrations serves find(%v).sort(%v)", name, set.Service, filter, sort)
		}
	}
}

// PostgresServes stores docs (by key, without the app prefix) in a database
// of Dapr's own shape, applies the set, and checks, with EXPLAIN ANALYZE of
// the exact statement Dapr sends (DaprSQL, prepared as Dapr's pgx does), that
// each query reads through one of the set's indexes and never scans the
// table. The plans are logged (go test -v shows them). It skips without
// TEST_PG_URL.
func PostgresServes(t *testing.T, set migrate.Set, docs map[string]any, queries map[string]string) {
	t.Helper()
	url := PostgresDB(t, true)
	c := Connect(t, url)
	Put(t, c, set.Service, docs)
	if _, err := set.Apply(t.Context(), url, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(t.Context(), "ANALYZE state"); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(queries))
	for name := range queries {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		sql, args, err := DaprSQL(queries[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		plan := Explain(t, c, sql, args...)
		t.Logf("%s, %d rows in state:\n%s  -- $1..: %q\n%s", name, len(docs), sql, args, plan)
		if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "Index") {
			t.Errorf("%s scans the table instead of an index of %s's migrations:\n%s", name, set.Service, plan)
		}
	}
}
