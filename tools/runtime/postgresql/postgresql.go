/*
Copyright 2021 The Dapr Authors
Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at
    http://www.apache.org/licenses/LICENSE-2.0
Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package postgresql is components-contrib's state.postgresql v1 at v1.18.4,
// unchanged but for transactions (Multi) and BulkGet: see README.md.
// Everything else (Get, Set, Delete, Query, KeysLike, TTLs, migrations,
// metadata) is upstream's own code, embedded.
package postgresql

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	pgcommon "github.com/dapr/components-contrib/common/component/postgresql/v1"
	"github.com/dapr/components-contrib/state"
	pgv1 "github.com/dapr/components-contrib/state/postgresql/v1"
	stateutils "github.com/dapr/components-contrib/state/utils"
	"github.com/dapr/kit/logger"
)

// Store is upstream's store with a pipelined Multi.
type Store struct {
	*pgcommon.PostgreSQLQuery
	table   string
	timeout time.Duration
}

// NewPostgreSQLStateStore returns the store; register it as state.postgresql v1.
func NewPostgreSQLStateStore(log logger.Logger) state.Store {
	return &Store{PostgreSQLQuery: pgv1.NewPostgreSQLStateStore(log).(*pgcommon.PostgreSQLQuery)}
}

// Init initializes upstream's store, and reads the two settings Multi needs
// with upstream's defaults.
func (s *Store) Init(ctx context.Context, meta state.Metadata) error {
	if err := s.PostgreSQLQuery.Init(ctx, meta); err != nil {
		return err
	}
	s.table, s.timeout = "state", 20*time.Second
	for k, v := range meta.Properties {
		switch strings.ToLower(k) {
		case "tablename":
			if v != "" {
				s.table = v
			}
		case "timeout", "timeoutinseconds":
			if d, err := time.ParseDuration(v); err == nil {
				s.timeout = d
			} else if n, err := strconv.Atoi(v); err == nil {
				s.timeout = time.Duration(n) * time.Second
			}
		}
	}
	return nil
}

// statement is one operation of a transaction, and what its result must be.
type statement struct {
	sql   string
	args  []any
	check func(rows int64) error
}

// Multi runs a transaction in two round trips to the database instead of one
// per statement: BEGIN and every operation's statement are sent together (a
// pgx pipeline), their results are checked exactly as upstream checks them
// one by one (a conditional write that touched no row is an ETag mismatch,
// or "no item was updated"), then COMMIT, or ROLLBACK on the first failure.
// Statements, parameters and errors are upstream's; one operation still runs
// without a transaction, as upstream does.
func (s *Store) Multi(parentCtx context.Context, req *state.TransactionalStateRequest) error {
	if req == nil || len(req.Operations) <= 1 {
		return s.PostgreSQLQuery.Multi(parentCtx, req)
	}
	stmts := make([]statement, 0, len(req.Operations))
	for _, op := range req.Operations {
		var (
			st  statement
			err error
		)
		switch x := op.(type) {
		case state.SetRequest:
			st, err = s.set(&x)
		case state.DeleteRequest:
			st, err = s.delete(&x)
		default:
			err = fmt.Errorf("unsupported operation: %s", op.Operation())
		}
		if err != nil {
			return err
		}
		stmts = append(stmts, st)
	}

	ctx, cancel := context.WithTimeout(parentCtx, s.timeout)
	defer cancel()
	conn, err := s.GetDB().Acquire(ctx)
	if err != nil {
		return fmt.Errorf("failed to begin transaction: %w", err)
	}
	// A connection released inside a transaction (a failed ROLLBACK) is
	// closed by the pool, never reused.
	defer conn.Release()

	batch := &pgx.Batch{}
	batch.Queue("BEGIN")
	for _, st := range stmts {
		batch.Queue(st.sql, st.args...)
	}
	results := conn.SendBatch(ctx, batch)
	failed := func() error {
		if _, err := results.Exec(); err != nil {
			return fmt.Errorf("failed to begin transaction: %w", err)
		}
		for _, st := range stmts {
			tag, err := results.Exec()
			if err != nil {
				return err
			}
			if err := st.check(tag.RowsAffected()); err != nil {
				return err
			}
		}
		return nil
	}()
	if err := results.Close(); failed == nil && err != nil {
		failed = err
	}
	if failed != nil {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) //nolint:errcheck // the pool drops it
		}
		return failed
	}
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("failed to commit transaction: %w", err)
	}
	return nil
}

// set is upstream's doSet (common/component/postgresql/v1) as a statement.
func (s *Store) set(req *state.SetRequest) (statement, error) {
	if err := state.CheckRequestOptions(req.Options); err != nil {
		return statement{}, err
	}
	if req.Key == "" {
		return statement{}, errors.New("missing key in set operation")
	}
	v := req.Value
	byteArray, isBinary := req.Value.([]uint8)
	if isBinary {
		v = base64.StdEncoding.EncodeToString(byteArray)
	}
	bt, _ := stateutils.Marshal(v, json.Marshal)
	value := string(bt)

	ttl, err := stateutils.ParseTTL(req.Metadata)
	if err != nil {
		return statement{}, fmt.Errorf("error parsing TTL: %w", err)
	}
	expire := "NULL"
	if ttl != nil && *ttl > 0 {
		expire = "CURRENT_TIMESTAMP + interval '" + strconv.Itoa(*ttl) + " seconds'"
	}

	if !req.HasETag() {
		var where string
		if req.Options.Concurrency == state.FirstWrite {
			where = " WHERE (t.expiredate IS NOT NULL AND t.expiredate < CURRENT_TIMESTAMP)"
		}
		return statement{
			sql: `INSERT INTO ` + s.table + ` AS t (key, value, isbinary, expiredate)
				VALUES ($1, $2, $3, ` + expire + `)
				ON CONFLICT (key) DO UPDATE SET
					value = excluded.value, isbinary = excluded.isBinary,
					updatedate = CURRENT_TIMESTAMP, expiredate = ` + expire + where,
			args: []any{req.Key, value, isBinary},
			check: func(rows int64) error {
				if rows != 1 {
					return errors.New("no item was updated")
				}
				return nil
			},
		}, nil
	}
	etag, err := strconv.ParseUint(*req.ETag, 10, 32)
	if err != nil {
		return statement{}, state.NewETagError(state.ETagInvalid, err)
	}
	return statement{
		sql: `UPDATE ` + s.table + ` SET
				value = $2, isbinary = $3, updatedate = CURRENT_TIMESTAMP, expiredate = ` + expire + `
			WHERE key = $1 AND xmin = $4 AND (expiredate IS NULL OR expiredate > CURRENT_TIMESTAMP)`,
		args:  []any{req.Key, value, isBinary, uint32(etag)},
		check: etagChecked,
	}, nil
}

// delete is upstream's doDelete as a statement.
func (s *Store) delete(req *state.DeleteRequest) (statement, error) {
	if req.Key == "" {
		return statement{}, errors.New("missing key in delete operation")
	}
	if !req.HasETag() {
		return statement{
			sql:   "DELETE FROM " + s.table + " WHERE key = $1",
			args:  []any{req.Key},
			check: func(int64) error { return nil },
		}, nil
	}
	etag, err := strconv.ParseUint(*req.ETag, 10, 32)
	if err != nil {
		return statement{}, state.NewETagError(state.ETagInvalid, err)
	}
	return statement{
		sql:   "DELETE FROM " + s.table + " WHERE key = $1 AND $2 = xmin",
		args:  []any{req.Key, uint32(etag)},
		check: etagChecked,
	}, nil
}

func etagChecked(rows int64) error {
	if rows != 1 {
		return state.NewETagError(state.ETagMismatch, nil)
	}
	return nil
}
