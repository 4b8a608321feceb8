package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/dapr/components-contrib/metadata"
	"github.com/dapr/components-contrib/state"
	pgupstream "github.com/dapr/components-contrib/state/postgresql/v1"
	confstate "github.com/dapr/components-contrib/tests/conformance/state"
	"github.com/dapr/kit/logger"

	pgpatched "github.com/tixmesh/ticketing/tools/runtime/postgresql"
)

// A state store variant: the project's patched state.postgresql v1, or
// upstream's, for comparison.
type storeVariant struct {
	name string
	new  func(logger.Logger) state.Store
}

var (
	patchedStore  = storeVariant{"patched", pgpatched.NewPostgreSQLStateStore}
	upstreamStore = storeVariant{"upstream", pgupstream.NewPostgreSQLStateStore}
)

var tableSeq atomic.Int64

// storeProps are a store's metadata: its own table in the test database,
// reached at url (the server's, or a proxy's).
// (Upstream records its migrations per metadata table, not per state table,
// so each store gets a metadata table of its own too.)
func storeProps(url string) map[string]string {
	id := fmt.Sprintf("%d_%s", tableSeq.Add(1), strings.ReplaceAll(uuid.NewString()[:8], "-", ""))
	return map[string]string{
		"connectionString":  url,
		"tableName":         "state_" + id,
		"metadataTableName": "meta_" + id,
	}
}

func newStore(t *testing.T, v storeVariant, props map[string]string) state.Store {
	t.Helper()
	s := v.new(logger.NewLogger("conformance." + v.name))
	if err := s.Init(t.Context(), state.Metadata{Base: metadata.Base{Properties: props}}); err != nil {
		t.Fatalf("init %s store: %v", v.name, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Dapr's own state conformance suite, with the operations and settings
// components-contrib's CI runs for postgresql.v1 (tests/config/state/tests.yml
// at v1.18.4). Upstream's store passes it too; CONFORMANCE_UPSTREAM=1 runs it.
func TestStateConformance(t *testing.T) {
	variants := []storeVariant{patchedStore}
	if upstream() {
		variants = append(variants, upstreamStore)
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			ops := []string{"transaction", "etag", "first-write", "query", "ttl", "actorStateStore", "keyslike"}
			cfg, err := confstate.NewTestConfig("postgresql.v1", ops, map[string]any{"badEtag": "1"})
			if err != nil {
				t.Fatal(err)
			}
			confstate.ConformanceTests(t, storeProps(pgURL), v.new(logger.NewLogger("conformance."+v.name)), cfg)
		})
	}
}

// What the suite does not reach: the outcome of a transaction the patch
// pipelines. Each test runs on both stores and expects the same answers: the
// patch changes how the statements travel, not what they do.
func bothStores(t *testing.T, f func(t *testing.T, s state.Store)) {
	for _, v := range []storeVariant{patchedStore, upstreamStore} {
		t.Run(v.name, func(t *testing.T) { f(t, newStore(t, v, storeProps(pgURL))) })
	}
}

func set(key string, value any) state.SetRequest {
	return state.SetRequest{Key: key, Value: value}
}

func setIf(key string, value any, etag string) state.SetRequest {
	return state.SetRequest{Key: key, Value: value, ETag: &etag}
}

func deleteIf(key, etag string) state.DeleteRequest {
	return state.DeleteRequest{Key: key, ETag: &etag}
}

func multi(ctx context.Context, s state.Store, ops ...state.TransactionalStateOperation) error {
	return s.(state.TransactionalStore).Multi(ctx, &state.TransactionalStateRequest{Operations: ops})
}

// get returns key's value ("" if missing) and ETag.
func get(t *testing.T, s state.Store, key string) (string, string) {
	t.Helper()
	r, err := s.Get(t.Context(), &state.GetRequest{Key: key})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	etag := ""
	if r.ETag != nil {
		etag = *r.ETag
	}
	return string(r.Data), etag
}

func mustSet(t *testing.T, s state.Store, key, value string) string {
	t.Helper()
	if err := s.Set(t.Context(), &state.SetRequest{Key: key, Value: value}); err != nil {
		t.Fatalf("set %s: %v", key, err)
	}
	_, etag := get(t, s, key)
	return etag
}

func wantMissing(t *testing.T, s state.Store, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v, _ := get(t, s, k); v != "" {
			t.Errorf("%s = %s after a failed transaction, want nothing written", k, v)
		}
	}
}

func wantValue(t *testing.T, s state.Store, key, want string) {
	t.Helper()
	if v, _ := get(t, s, key); v != want {
		t.Errorf("%s = %s, want %s", key, v, want)
	}
}

func isETag(err error, kind state.ETagErrorKind) bool {
	var e *state.ETagError
	return errors.As(err, &e) && e.Kind() == kind
}

// One statement of a pipelined transaction fails in the database (a JSON
// value PostgreSQL's jsonb refuses: "\u0000"): nothing of it is written, not
// the statements before it nor those after, what was there is unchanged, and
// the connection is fit for the next transaction (no transaction left open).
func TestPipelinedTransactionRollsBackOnAFailingStatement(t *testing.T) {
	bothStores(t, func(t *testing.T, s state.Store) {
		ctx := t.Context()
		p := uuid.NewString()
		mustSet(t, s, p+"-kept", "before")
		err := multi(ctx, s,
			set(p+"-1", "one"),
			set(p+"-kept", "changed"),
			set(p+"-bad", "nul \x00 byte"),
			set(p+"-3", "three"),
		)
		if err == nil {
			t.Fatal("a transaction with a statement PostgreSQL refuses succeeded")
		}
		t.Logf("error: %v", err)
		wantMissing(t, s, p+"-1", p+"-bad", p+"-3")
		wantValue(t, s, p+"-kept", `"before"`)
		// The pool's connections are usable: many transactions in a row, on
		// whatever connection, all commit.
		for i := range 20 {
			if err := multi(ctx, s, set(fmt.Sprintf("%s-after-%d", p, i), i), set(p+"-kept", i)); err != nil {
				t.Fatalf("transaction %d after the failed one: %v", i, err)
			}
		}
		wantValue(t, s, p+"-kept", "19")
		if n := idleInTransaction(t); n != 0 {
			t.Errorf("%d connections idle in a transaction, want none", n)
		}
	})
}

func idleInTransaction(t *testing.T) int {
	t.Helper()
	c, err := pgx.Connect(t.Context(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	var n int
	if err := c.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// ETag-conditional writes inside a transaction: right ETags commit every
// operation, a stale one (on a set or a delete) fails the whole transaction
// as an ETag mismatch and writes nothing, a malformed one is refused as
// invalid, and a first-write on an existing key fails it too.
func TestETagConditionalWritesInATransaction(t *testing.T) {
	bothStores(t, func(t *testing.T, s state.Store) {
		ctx := t.Context()
		p := uuid.NewString()
		a := mustSet(t, s, p+"-a", "a0")
		b := mustSet(t, s, p+"-b", "b0")

		// Right ETags: everything commits.
		if err := multi(ctx, s, setIf(p+"-a", "a1", a), deleteIf(p+"-b", b), set(p+"-c", "c1")); err != nil {
			t.Fatalf("transaction with current ETags: %v", err)
		}
		wantValue(t, s, p+"-a", `"a1"`)
		wantMissing(t, s, p+"-b")
		wantValue(t, s, p+"-c", `"c1"`)
		_, a1 := get(t, s, p+"-a")
		if a1 == a {
			t.Errorf("ETag of a unchanged (%s) by a committed write", a)
		}

		// A stale ETag on a set, after other operations: a mismatch, nothing written.
		err := multi(ctx, s, set(p+"-d", "d1"), setIf(p+"-c", "c2", "1"), setIf(p+"-a", "a2", a), set(p+"-e", "e1"))
		if !isETag(err, state.ETagMismatch) {
			t.Fatalf("stale ETag on a set: %v, want an ETag mismatch", err)
		}
		wantMissing(t, s, p+"-d", p+"-e")
		wantValue(t, s, p+"-a", `"a1"`)
		wantValue(t, s, p+"-c", `"c1"`)

		// A stale ETag on a delete: likewise.
		_, c := get(t, s, p+"-c")
		err = multi(ctx, s, setIf(p+"-c", "c2", c), deleteIf(p+"-a", a), set(p+"-f", "f1"))
		if !isETag(err, state.ETagMismatch) {
			t.Fatalf("stale ETag on a delete: %v, want an ETag mismatch", err)
		}
		wantValue(t, s, p+"-c", `"c1"`)
		wantValue(t, s, p+"-a", `"a1"`)
		wantMissing(t, s, p+"-f")

		// A conditional delete of a key that is gone is a mismatch too.
		err = multi(ctx, s, set(p+"-g", "g1"), deleteIf(p+"-b", b))
		if !isETag(err, state.ETagMismatch) {
			t.Fatalf("ETag delete of a missing key: %v, want an ETag mismatch", err)
		}
		wantMissing(t, s, p+"-g")

		// A malformed ETag: refused as invalid, before anything runs.
		err = multi(ctx, s, set(p+"-h", "h1"), setIf(p+"-a", "a3", "not-a-number"))
		if !isETag(err, state.ETagInvalid) {
			t.Fatalf("malformed ETag: %v, want an invalid-ETag error", err)
		}
		wantMissing(t, s, p+"-h")

		// First-write on a key that exists, without an ETag: the whole
		// transaction fails.
		err = multi(ctx, s, set(p+"-i", "i1"), state.SetRequest{Key: p + "-a", Value: "a4", Options: state.SetStateOption{Concurrency: state.FirstWrite}})
		if err == nil {
			t.Fatal("first-write on an existing key inside a transaction succeeded")
		}
		wantMissing(t, s, p+"-i")
		wantValue(t, s, p+"-a", `"a1"`)

		// The current ETag after all that still commits.
		_, a = get(t, s, p+"-a")
		if err := multi(ctx, s, setIf(p+"-a", "a5", a), set(p+"-j", "j1")); err != nil {
			t.Fatalf("current ETag after failed transactions: %v", err)
		}
		wantValue(t, s, p+"-a", `"a5"`)
	})
}

// BulkGet over a connection that breaks while the rows stream in (PostgreSQL
// restarting, a network cut) must fail, not answer the keys it did not get to
// as missing. A proxy between the store and PostgreSQL cuts the connection
// after 256 KiB of a 3 MB answer. Upstream answers without an error, most
// keys "missing": CONFORMANCE_UPSTREAM=1 shows it.
func TestBulkGetOverABrokenConnectionFails(t *testing.T) {
	variants := []storeVariant{patchedStore}
	if upstream() {
		variants = append(variants, upstreamStore)
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			proxy := newCuttingProxy(t, pgAddr)
			props := storeProps(pgURLVia(proxy.addr))
			s := newStore(t, v, props)
			const n = 3000
			fill(t, props["tableName"], n)
			req := make([]state.GetRequest, n)
			for i := range req {
				req[i] = state.GetRequest{Key: fmt.Sprintf("k%d", i)}
			}
			bulk := s.(state.BulkStore)

			res, err := bulk.BulkGet(t.Context(), req, state.BulkGetOpts{})
			if err != nil || len(res) != n || countFound(res) != n {
				t.Fatalf("BulkGet on a sound connection: %d answers, %d found, %v", len(res), countFound(res), err)
			}

			proxy.cutAfter(256 << 10)
			res, err = bulk.BulkGet(t.Context(), req, state.BulkGetOpts{})
			if !proxy.didCut() {
				t.Fatal("the proxy did not cut the connection")
			}
			if err == nil {
				t.Fatalf("BulkGet over a broken connection answered without an error: %d of %d keys found, the rest reported missing", countFound(res), n)
			}
			t.Logf("error: %v", err)

			res, err = bulk.BulkGet(t.Context(), req, state.BulkGetOpts{})
			if err != nil || countFound(res) != n {
				t.Fatalf("BulkGet after the cut: %d found, %v; want all on a new connection", countFound(res), err)
			}
		})
	}
}

func countFound(res []state.BulkGetResponse) int {
	n := 0
	for _, r := range res {
		if r.Error == "" && len(r.Data) > 0 {
			n++
		}
	}
	return n
}

// fill writes n keys k0..k<n-1> of about 1 KB each straight into table.
func fill(t *testing.T, table string, n int) {
	t.Helper()
	c, err := pgx.Connect(t.Context(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	_, err = c.Exec(t.Context(), `INSERT INTO `+pgx.Identifier{table}.Sanitize()+` (key, value, isbinary)
		SELECT 'k' || i, to_jsonb(repeat('x', 1000)), false FROM generate_series(0, $1 - 1) AS i`, n)
	if err != nil {
		t.Fatal(err)
	}
}
