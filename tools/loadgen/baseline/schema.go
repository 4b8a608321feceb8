package baseline

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// database is the baseline's own database on the server Options.PostgresURL
// names; it is created if missing, and never touches the services' databases.
const database = "baseline"

// schemas holds one schema per service: like the mesh's one database per
// service, no service reads or writes another's tables. Each is dropped and
// created anew on every run. The rows are typed columns rather than Dapr's
// JSON documents: that is what Go talking straight to PostgreSQL would do.
var schemas = map[string]string{
	"tickets": `
CREATE TABLE tickets (
	id text PRIMARY KEY, title text NOT NULL, price double precision NOT NULL, user_id text NOT NULL,
	version bigint NOT NULL, order_id text NOT NULL DEFAULT '');
CREATE TABLE holds (ticket_id text PRIMARY KEY, order_id text NOT NULL, since timestamptz NOT NULL);
CREATE TABLE outbox (id text PRIMARY KEY, topic text NOT NULL, data jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now());`,
	"orders": `
CREATE TABLE tickets (
	id text PRIMARY KEY, title text NOT NULL, price double precision NOT NULL, version bigint NOT NULL, reserved_by text NOT NULL DEFAULT '');
CREATE TABLE orders (
	id text PRIMARY KEY, user_id text NOT NULL, status text NOT NULL, expires_at timestamptz NOT NULL,
	ticket_id text NOT NULL, ticket_title text NOT NULL, ticket_price double precision NOT NULL, ticket_version bigint NOT NULL,
	version bigint NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE user_orders (user_id text PRIMARY KEY, order_ids text[] NOT NULL);
CREATE TABLE outbox (id text PRIMARY KEY, topic text NOT NULL, data jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now());`,
	"payments": `
CREATE TABLE orders (
	id text PRIMARY KEY, user_id text NOT NULL, price double precision NOT NULL, status text NOT NULL, version bigint NOT NULL);
CREATE TABLE payments (
	order_id text PRIMARY KEY, id text NOT NULL, user_id text NOT NULL, amount bigint NOT NULL, status text NOT NULL,
	method text NOT NULL DEFAULT '', stripe_id text NOT NULL DEFAULT '', attempt_at timestamptz NOT NULL, version bigint NOT NULL);
CREATE TABLE outbox (id text PRIMARY KEY, topic text NOT NULL, data jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now());`,
	"expiration": `
CREATE TABLE schedule (order_id text PRIMARY KEY, expires_at timestamptz NOT NULL);`,
}

// stores is each service's connection pool, bound to its own schema through
// search_path, as each sidecar has its own pool to its own database.
type stores struct {
	tickets, orders, payments, expiration *pgxpool.Pool
}

// resetSchemas creates the database if missing, then drops and recreates every
// service's schema. One Run at a time may use a server.
func resetSchemas(ctx context.Context, url string) error {
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	var exists bool
	err = admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, database).Scan(&exists)
	if err == nil && !exists {
		_, err = admin.Exec(ctx, "CREATE DATABASE "+database)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created meanwhile
			err = nil
		}
	}
	admin.Close(ctx)
	if err != nil {
		return fmt.Errorf("database %s: %w", database, err)
	}

	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.Database = database
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for name, ddl := range schemas {
		// Without arguments Exec uses the simple protocol: several statements.
		sql := fmt.Sprintf("DROP SCHEMA IF EXISTS %[1]s CASCADE; CREATE SCHEMA %[1]s; SET search_path TO %[1]s;", name) + ddl
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("schema %s: %w", name, err)
		}
	}
	return nil
}

// openStores opens the four pools. Orders serves every buyer at once and
// tickets reserves at the same rate, so their pools grow with the buyers (with
// fewer connections than buyers, tickets falls behind and the reservation
// delay measures its backlog). Payments serves every buyer at once in the
// purchase workload, so its pool grows too. Expiration's one insert per order
// needs little: four connections, the default pool of a sidecar's state store
// on this machine.
func openStores(ctx context.Context, url string, buyers int) (*stores, error) {
	open := func(schema string, size int32) (*pgxpool.Pool, error) {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			return nil, err
		}
		cfg.ConnConfig.Database = database
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
		cfg.MaxConns = size
		return pgxpool.NewWithConfig(ctx, cfg)
	}
	s := &stores{}
	var err error
	for _, p := range []struct {
		pool   **pgxpool.Pool
		schema string
		size   int32
	}{
		{&s.tickets, "tickets", int32(buyers) + 4},
		{&s.orders, "orders", int32(buyers) + 4},
		{&s.payments, "payments", int32(buyers) + 4},
		{&s.expiration, "expiration", 4},
	} {
		if *p.pool, err = open(p.schema, p.size); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

func (s *stores) close() {
	for _, p := range []*pgxpool.Pool{s.tickets, s.orders, s.payments, s.expiration} {
		if p != nil {
			p.Close()
		}
	}
}
