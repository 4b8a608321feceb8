package migrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// postgres is a service's PostgreSQL database (Dapr's state.postgresql v1).
// Each migration runs in one transaction with its record: it is applied and
// recorded, or neither.
type postgres struct {
	conn *pgx.Conn
}

// schemaDDL is the schema record: one row per applied migration.
const schemaDDL = `CREATE TABLE IF NOT EXISTS ` + SchemaTable + ` (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	service    text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// openPostgres connects and checks that Dapr has made the state table: the
// migrations index Dapr's table, they never create it (Dapr's own migrations,
// run by the sidecar as it starts, own its columns and its bookkeeping in
// dapr_metadata).
func openPostgres(ctx context.Context, svc, rawURL string) (store, error) {
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", redact(rawURL), err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", Table).Scan(&exists); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("%s: %w", redact(rawURL), err)
	}
	if !exists {
		conn.Close(ctx)
		return nil, fmt.Errorf("%w in %s: Dapr's state.postgresql creates table %q when %s's sidecar first starts; migrate runs once the sidecar is up (the local runner waits for its /v1.0/healthz/outbound)", ErrNoStateTable, redact(rawURL), Table, svc)
	}
	return &postgres{conn: conn}, nil
}

func (p *postgres) kind() string { return "postgres" }

func (p *postgres) close(ctx context.Context) { _ = p.conn.Close(ctx) }

func (p *postgres) records(ctx context.Context) ([]Record, error) {
	_, err := p.conn.Exec(ctx, schemaDDL)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		// Two migrators creating the table at once: one wins, the other
		// trips on the catalog's unique index; the table exists either way.
		_, err = p.conn.Exec(ctx, schemaDDL)
	}
	if err != nil {
		return nil, err
	}
	rows, err := p.conn.Query(ctx, "SELECT version, name, service, applied_at FROM "+SchemaTable+" ORDER BY version")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Record, error) {
		var r Record
		err := row.Scan(&r.Version, &r.Name, &r.Service, &r.AppliedAt)
		return r, err
	})
}

func (p *postgres) apply(ctx context.Context, svc string, m Migration) (bool, error) {
	tx, err := p.conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op once committed
	// One migrator at a time: a second one waits here, then finds the
	// version recorded and runs nothing.
	if _, err := tx.Exec(ctx, "LOCK TABLE "+SchemaTable+" IN SHARE ROW EXCLUSIVE MODE"); err != nil {
		return false, err
	}
	var done bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+SchemaTable+" WHERE version = $1)", m.Version).Scan(&done); err != nil {
		return false, err
	}
	if done {
		return false, nil
	}
	// Without arguments pgx uses the simple protocol, which runs every
	// statement of the file, inside this transaction.
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+SchemaTable+" (version, name, service) VALUES ($1, $2, $3)", m.Version, m.Name, svc); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}
