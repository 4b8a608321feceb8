// Package sidecar holds the adapters of the Dapr sidecar's APIs that the
// services use: its state store with ETag optimistic concurrency (State), a
// publisher that gives every event its deterministic id and its trace
// (Publisher), secrets, and the start-up wait for the sidecar.
//
// Writes go through package store, never through State directly; apps depend
// on the small interfaces here, so their tests use the fakes in sidecartest
// and their integration tests the real sidecar.
package sidecar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/tracing"
)

// ErrConflict means a write lost a race: the ETag it asserted is stale, or a
// key it meant to create exists. The caller re-reads and retries, or answers 409.
var ErrConflict = apperr.New(apperr.Conflict, "The record was changed by someone else; try again")

// ErrUnavailable wraps failures to reach the sidecar or its store.
var ErrUnavailable = apperr.New(apperr.Unavailable, "A service is unavailable; try again shortly")

// Item is one stored value with its ETag. A missing key has a nil Value.
type Item struct {
	Key   string
	Value []byte
	ETag  string
}

// Found reports whether the key existed.
func (i Item) Found() bool { return i.Value != nil }

// Decode unmarshals the item's JSON value into v.
func (i Item) Decode(v any) error {
	if err := json.Unmarshal(i.Value, v); err != nil {
		return fmt.Errorf("decode %s: %w", i.Key, err)
	}
	return nil
}

// Op is one write in a transaction.
type Op struct {
	Key string
	// Value is marshalled to JSON. Ignored for deletes.
	Value any
	// ETag, when set, makes the write conditional on the stored ETag.
	ETag string
	// Create makes the write fail with ErrConflict if the key exists.
	Create bool
	// Delete removes the key.
	Delete bool
}

// State is a key/value store with optimistic concurrency.
type State interface {
	Get(ctx context.Context, key string) (Item, error)
	GetBulk(ctx context.Context, keys []string) ([]Item, error)
	// Transact applies every op or none; a failed condition is ErrConflict.
	Transact(ctx context.Context, ops ...Op) error
	// Query runs a Dapr state query (filter, sort, page) and returns the items
	// and the token of the next page ("" on the last).
	Query(ctx context.Context, query string) ([]Item, string, error)
}

// DaprState is State through the sidecar's HTTP state API.
//
// Why HTTP and not the Go SDK's gRPC client: the gRPC transaction API hands
// the store raw bytes, which state.postgresql saves as base64 and MongoDB as a
// string, so the state query API cannot filter on their fields. Over HTTP a
// JSON value arrives as a document, is stored as JSONB (or BSON), and is
// queryable on both stores.
type DaprState struct {
	base  string // http://127.0.0.1:<dapr http port>/v1.0
	store string
	http  *http.Client
}

// NewState returns the state store component named store, reached through the
// sidecar listening on httpAddr (host:port).
func NewState(httpAddr, store string) *DaprState {
	return &DaprState{
		base:  "http://" + httpAddr,
		store: url.PathEscape(store),
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     90 * time.Second,
		}},
	}
}

func (s *DaprState) Get(ctx context.Context, key string) (Item, error) {
	resp, err := s.do(ctx, http.MethodGet, "/v1.0/state/"+s.store+"/"+url.PathEscape(key)+"?consistency=strong", nil)
	if err != nil {
		return Item{}, wrap(err, "get "+key)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Item{}, wrap(err, "get "+key)
	}
	switch {
	case resp.StatusCode == http.StatusNoContent || (resp.StatusCode == http.StatusOK && len(b) == 0):
		return Item{Key: key}, nil
	case resp.StatusCode != http.StatusOK:
		return Item{}, wrap(apiError(resp.StatusCode, b), "get "+key)
	}
	return Item{Key: key, Value: b, ETag: resp.Header.Get("ETag")}, nil
}

// stateEntry is an item in bulk and query answers.
type stateEntry struct {
	Key   string          `json:"key"`
	Data  json.RawMessage `json:"data"`
	ETag  string          `json:"etag"`
	Error string          `json:"error"`
}

func (s *DaprState) GetBulk(ctx context.Context, keys []string) ([]Item, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	body, _ := json.Marshal(map[string]any{"keys": keys, "parallelism": 8})
	var got []stateEntry
	if err := s.call(ctx, "/v1.0/state/"+s.store+"/bulk", body, &got); err != nil {
		return nil, wrap(err, "bulk get")
	}
	byKey := make(map[string]stateEntry, len(got))
	for _, it := range got {
		if it.Error != "" {
			return nil, fmt.Errorf("%w: bulk get %s: %s", ErrUnavailable, it.Key, it.Error)
		}
		byKey[it.Key] = it
	}
	items := make([]Item, len(keys))
	for i, k := range keys {
		items[i] = Item{Key: k}
		if it, ok := byKey[k]; ok && len(it.Data) > 0 && string(it.Data) != "null" {
			items[i].Value, items[i].ETag = it.Data, it.ETag
		}
	}
	return items, nil
}

// txOp is one operation of the HTTP transaction API.
type txOp struct {
	Operation string `json:"operation"`
	Request   struct {
		Key     string          `json:"key"`
		Value   json.RawMessage `json:"value,omitempty"`
		ETag    string          `json:"etag,omitempty"`
		Options *txOptions      `json:"options,omitempty"`
	} `json:"request"`
}

type txOptions struct {
	Concurrency string `json:"concurrency"`
	Consistency string `json:"consistency"`
}

func (s *DaprState) Transact(ctx context.Context, ops ...Op) error {
	tx := struct {
		Operations []txOp `json:"operations"`
	}{Operations: make([]txOp, 0, len(ops))}
	for _, op := range ops {
		var t txOp
		t.Operation = "upsert"
		t.Request.Key = op.Key
		t.Request.ETag = op.ETag
		t.Request.Options = &txOptions{Concurrency: "last-write", Consistency: "strong"}
		if op.ETag != "" || op.Create {
			t.Request.Options.Concurrency = "first-write"
		}
		if op.Delete {
			t.Operation = "delete"
		} else {
			b, err := json.Marshal(op.Value)
			if err != nil {
				return fmt.Errorf("encode %s: %w", op.Key, err)
			}
			t.Request.Value = b
		}
		tx.Operations = append(tx.Operations, t)
	}
	body, err := json.Marshal(tx)
	if err != nil {
		return err
	}
	if err := s.call(ctx, "/v1.0/state/"+s.store+"/transaction", body, nil); err != nil {
		return wrap(err, "transaction")
	}
	return nil
}

func (s *DaprState) Query(ctx context.Context, query string) ([]Item, string, error) {
	var resp struct {
		Results []stateEntry `json:"results"`
		Token   string       `json:"token"`
	}
	if err := s.call(ctx, "/v1.0-alpha1/state/"+s.store+"/query", []byte(query), &resp); err != nil {
		return nil, "", wrap(err, "query")
	}
	items := make([]Item, 0, len(resp.Results))
	for _, r := range resp.Results {
		if r.Error != "" {
			return nil, "", fmt.Errorf("%w: query %s: %s", ErrUnavailable, r.Key, r.Error)
		}
		items = append(items, Item{Key: r.Key, Value: r.Data, ETag: r.ETag})
	}
	return items, resp.Token, nil
}

// call POSTs body and decodes a 2xx answer into out (when not nil).
func (s *DaprState) call(ctx context.Context, path string, body []byte, out any) error {
	resp, err := s.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return apiError(resp.StatusCode, b)
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}

func (s *DaprState) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tp := tracing.Parent(ctx); tp != "" {
		req.Header.Set("traceparent", tp)
	}
	return s.http.Do(req)
}

// sidecarError is an error answer of the sidecar's HTTP API.
type sidecarError struct {
	Status  int
	Code    string `json:"errorCode"`
	Message string `json:"message"`
}

func (e *sidecarError) Error() string {
	return fmt.Sprintf("sidecar answered %d %s: %s", e.Status, e.Code, e.Message)
}

func apiError(status int, body []byte) error {
	e := &sidecarError{Status: status}
	if json.Unmarshal(body, e) != nil || e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
	}
	return e
}

// wrap classifies a sidecar error. The state API reports a failed condition
// inside a transaction as a generic error whose text names it: "possible etag
// mismatch" for a stale ETag, "no item was updated" for a first-write on a key
// that exists (or 409 for a single write). A transaction the database aborted
// to break a deadlock or a serialization conflict (PostgreSQL's 40P01 and
// 40001, MongoDB's WriteConflict) wrote nothing and lost a race too. Those
// become ErrConflict: the caller reads again and decides again. Anything else
// is ErrUnavailable.
func wrap(err error, what string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var se *sidecarError
	msg := strings.ToLower(err.Error())
	switch {
	case errors.As(err, &se) && se.Status == http.StatusConflict,
		strings.Contains(msg, "etag mismatch"),
		strings.Contains(msg, "invalid etag"),
		strings.Contains(msg, "no item was updated"),
		strings.Contains(msg, "duplicate key"),
		strings.Contains(msg, "deadlock detected"), strings.Contains(msg, "sqlstate 40p01"),
		strings.Contains(msg, "could not serialize access"), strings.Contains(msg, "sqlstate 40001"),
		strings.Contains(msg, "writeconflict"):
		return fmt.Errorf("%s: %w: %v", what, ErrConflict, err)
	}
	return fmt.Errorf("%s: %w: %v", what, ErrUnavailable, err)
}
