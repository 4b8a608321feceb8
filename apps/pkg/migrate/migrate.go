// Package migrate gives each service numbered, idempotent migrations of its
// own state store: the indexes its queries need, on the table (PostgreSQL,
// Dapr's state.postgresql v1) or collection (MongoDB, Dapr's state.mongodb)
// that Dapr keeps the service's state in, both named `state`.
//
// A service keeps its migrations in apps/<svc>/migrations/, embedded in its
// binary, one pair of files per version:
//
//	0002_ticket_list.sql         PostgreSQL: statements run in one transaction
//	0002_ticket_list.mongo.json  MongoDB: a JSON array of database commands
//	                             (createIndexes, dropIndexes, collMod on `state`)
//
// Apply runs, in order, the migrations the store has not recorded, and records
// each one in the service's schema record (the table or collection
// tixmesh_schema of the service's database). Every migration is written to be
// idempotent (CREATE INDEX IF NOT EXISTS, createIndexes), so running Apply
// twice changes nothing. A store whose record is newer than the code, or was
// written by another service, is refused.
package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// Table is the state table (PostgreSQL) or collection (MongoDB) the
// migrations change: the tableName / collectionName of every store component.
const Table = "state"

// SchemaTable is where a store records the migrations applied to it.
const SchemaTable = "tixmesh_schema"

var (
	// ErrNewerSchema: the store records a version this code does not know (a
	// newer binary migrated it); running older code against it is refused.
	ErrNewerSchema = errors.New("the store's schema is newer than this binary knows")
	// ErrOtherService: the store's schema record belongs to another service.
	ErrOtherService = errors.New("the store's schema record belongs to another service")
	// ErrNoStateTable: Dapr has not created the state table yet.
	ErrNoStateTable = errors.New("the state table does not exist yet")
)

// Migration is one version of a service's schema, for either store.
type Migration struct {
	Version int
	Name    string   // "ticket_list" in 0002_ticket_list.sql
	SQL     string   // PostgreSQL statements
	Mongo   []bson.D // MongoDB commands, in order
}

// ID names the migration as its files do: 0002_ticket_list.
func (m Migration) ID() string { return fmt.Sprintf("%04d_%s", m.Version, m.Name) }

// Set is one service's migrations, versions 1 to N in order.
type Set struct {
	Service    string
	Migrations []Migration
}

// Latest is the newest version the set knows (0 for an empty set).
func (s Set) Latest() int { return len(s.Migrations) }

// Record is one applied migration, as a store records it.
type Record struct {
	Version   int
	Name      string
	Service   string
	AppliedAt time.Time
}

var fileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.(sql|mongo\.json)$`)

// mongoCommands are the commands a MongoDB migration may run: index
// maintenance on the state collection, nothing that rewrites documents.
var mongoCommands = []string{"createIndexes", "dropIndexes", "collMod"}

// Load reads a service's migrations from fsys (its embedded migrations
// folder): every version from 1 up, each with its .sql and .mongo.json.
func Load(svc string, fsys fs.FS) (Set, error) {
	set := Set{Service: svc}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return set, fmt.Errorf("reading migrations: %w", err)
	}
	type halves struct {
		name  string
		sql   *string
		mongo []bson.D
		hasMo bool
	}
	byVersion := map[int]*halves{}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "README.md" {
			continue
		}
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return set, fmt.Errorf("migrations/%s: want NNNN_name.sql or NNNN_name.mongo.json (lower case, digits, _)", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return set, err
		}
		h := byVersion[v]
		if h == nil {
			h = &halves{name: m[2]}
			byVersion[v] = h
		}
		if h.name != m[2] {
			return set, fmt.Errorf("version %04d has two names, %s and %s", v, h.name, m[2])
		}
		switch m[3] {
		case "sql":
			s := string(b)
			if strings.TrimSpace(s) == "" {
				return set, fmt.Errorf("migrations/%s is empty", e.Name())
			}
			h.sql = &s
		default:
			cmds, err := parseMongo(b)
			if err != nil {
				return set, fmt.Errorf("migrations/%s: %w", e.Name(), err)
			}
			h.mongo, h.hasMo = cmds, true
		}
	}
	for v := 1; v <= len(byVersion); v++ {
		h, ok := byVersion[v]
		if !ok {
			return set, fmt.Errorf("migrations are numbered 0001 up without gaps; %04d is missing", v)
		}
		if h.sql == nil || !h.hasMo {
			return set, fmt.Errorf("migration %04d_%s needs both %04d_%s.sql and %04d_%s.mongo.json", v, h.name, v, h.name, v, h.name)
		}
		set.Migrations = append(set.Migrations, Migration{Version: v, Name: h.name, SQL: *h.sql, Mongo: h.mongo})
	}
	return set, nil
}

// parseMongo reads a JSON array of commands, keeping each command's key order
// (a command's name comes first; an index key's order is the index).
func parseMongo(b []byte) ([]bson.D, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return nil, fmt.Errorf("want a JSON array of commands: %w", err)
	}
	cmds := make([]bson.D, 0, len(raws))
	for i, raw := range raws {
		var cmd bson.D
		if err := bson.UnmarshalExtJSON(raw, false, &cmd); err != nil {
			return nil, fmt.Errorf("command %d: %w", i+1, err)
		}
		if len(cmd) == 0 || !slices.Contains(mongoCommands, cmd[0].Key) {
			return nil, fmt.Errorf("command %d: want one of %v first, on %q", i+1, mongoCommands, Table)
		}
		if cmd[0].Value != Table {
			return nil, fmt.Errorf("command %d: %s %v: only the %q collection is migrated", i+1, cmd[0].Key, cmd[0].Value, Table)
		}
		cmds = append(cmds, cmd)
	}
	return cmds, nil
}

// store is what Apply needs of a database: its schema record, and a way to
// run one migration and record it.
type store interface {
	// kind names the store in messages: postgres or mongodb.
	kind() string
	// records returns the schema record, oldest first, creating it if need be.
	records(ctx context.Context) ([]Record, error)
	// apply runs m and records it for svc. applied is false when another
	// migrator recorded m meanwhile (nothing was run).
	apply(ctx context.Context, svc string, m Migration) (applied bool, err error)
	close(ctx context.Context)
}

// Apply migrates the store at rawURL (postgres://... or mongodb://...) and
// returns the migrations it ran.
func (s Set) Apply(ctx context.Context, rawURL string, log *slog.Logger) ([]Migration, error) {
	st, err := open(ctx, s.Service, rawURL)
	if err != nil {
		return nil, err
	}
	defer st.close(context.WithoutCancel(ctx))
	return s.apply(ctx, st, log)
}

func open(ctx context.Context, svc, rawURL string) (store, error) {
	u, err := url.Parse(rawURL)
	if err != nil || rawURL == "" {
		return nil, fmt.Errorf("MIGRATE_URL %q: want postgres://... or mongodb://...", redact(rawURL))
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return openPostgres(ctx, svc, rawURL)
	case "mongodb", "mongodb+srv":
		db := strings.TrimPrefix(u.Path, "/")
		if db == "" {
			db = svc // the component's databaseName: the service's name
		}
		return openMongo(ctx, svc, rawURL, db)
	}
	return nil, fmt.Errorf("MIGRATE_URL %s: unknown scheme %q, want postgres or mongodb", redact(rawURL), u.Scheme)
}

func (s Set) apply(ctx context.Context, st store, log *slog.Logger) ([]Migration, error) {
	recs, err := st.records(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the schema record (%s): %w", st.kind(), err)
	}
	current := 0
	for _, r := range recs {
		if r.Service != s.Service {
			return nil, fmt.Errorf("%w: version %d was applied by %s; is MIGRATE_URL another service's database?", ErrOtherService, r.Version, r.Service)
		}
		if r.Version < 1 {
			return nil, fmt.Errorf("the schema record holds version %d; versions start at 1", r.Version)
		}
		if r.Version > s.Latest() {
			return nil, fmt.Errorf("%w: the %s store is at version %d (%04d_%s), this binary knows up to %d; run a binary at least that new", ErrNewerSchema, st.kind(), r.Version, r.Version, r.Name, s.Latest())
		}
		if m := s.Migrations[r.Version-1]; r.Name != m.Name {
			return nil, fmt.Errorf("version %d was applied as %04d_%s, but this binary's migration %d is %s: two migrations took one number", r.Version, r.Version, r.Name, r.Version, m.ID())
		}
		current = max(current, r.Version)
	}
	var ran []Migration
	for _, m := range s.Migrations[current:] {
		t0 := time.Now()
		applied, err := st.apply(ctx, s.Service, m)
		if err != nil {
			return ran, fmt.Errorf("migration %s failed on %s, %s; later migrations did not run: %w", m.ID(), st.kind(), undone(st), err)
		}
		if applied {
			ran = append(ran, m)
			log.Info("migration applied", "store", st.kind(), "migration", m.ID(), "took", time.Since(t0).Round(time.Millisecond).String())
		}
	}
	log.Info("schema up to date", "store", st.kind(), "version", s.Latest(), "applied", len(ran))
	return ran, nil
}

// undone says what a failed migration left behind.
func undone(st store) string {
	if st.kind() == "postgres" {
		return "its transaction rolled back (nothing of it remains)"
	}
	return "commands before the failing one stay (MongoDB runs index commands outside transactions; each is idempotent, so a rerun completes it)"
}

// Main is a service's `migrate` mode (`tickets migrate`): it applies the
// service's migrations (fsys: its embedded migrations folder) to the store at
// MIGRATE_URL, logging as the service does (LOG_FORMAT, LOG_LEVEL).
func Main(ctx context.Context, svc string, fsys fs.FS, getenv func(string) string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := service.NewLogger(stdout, getenv("LOG_FORMAT"), getenv("LOG_LEVEL"), svc)
	set, err := Load(svc, fsys)
	if err != nil {
		return err
	}
	rawURL := getenv("MIGRATE_URL")
	if rawURL == "" {
		return errors.New("migrate: MIGRATE_URL is not set (postgres://... or mongodb://..., the service's own store)")
	}
	_, err = set.Apply(ctx, rawURL, log)
	return err
}

// redact hides a URL's password.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
