// Package sidecar is what several services share for talking to their Dapr
// sidecar: a state store with ETag optimistic concurrency, a publisher that
// gives every event its deterministic id, an outbox that saves state and its
// events in one transaction, and the app side of subscriptions.
//
// Apps depend on the small interfaces here (State, Publisher), so their tests
// use the fakes in sidecartest and their integration tests the real sidecar.
package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	dapr "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
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

// DaprState is State through the sidecar's state API.
type DaprState struct {
	client dapr.Client
	store  string
}

// NewState returns the state store component named store.
func NewState(client dapr.Client, store string) *DaprState {
	return &DaprState{client: client, store: store}
}

var strong = map[string]string{}

func (s *DaprState) Get(ctx context.Context, key string) (Item, error) {
	it, err := s.client.GetStateWithConsistency(ctx, s.store, key, strong, dapr.StateConsistencyStrong)
	if err != nil {
		return Item{}, wrap(err, "get "+key)
	}
	if len(it.Value) == 0 {
		return Item{Key: key}, nil
	}
	return Item{Key: key, Value: it.Value, ETag: it.Etag}, nil
}

func (s *DaprState) GetBulk(ctx context.Context, keys []string) ([]Item, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	got, err := s.client.GetBulkState(ctx, s.store, keys, nil, 8)
	if err != nil {
		return nil, wrap(err, "bulk get")
	}
	byKey := make(map[string]*dapr.BulkStateItem, len(got))
	for _, it := range got {
		if it.Error != "" {
			return nil, fmt.Errorf("%w: bulk get %s: %s", ErrUnavailable, it.Key, it.Error)
		}
		byKey[it.Key] = it
	}
	items := make([]Item, len(keys))
	for i, k := range keys {
		items[i] = Item{Key: k}
		if it, ok := byKey[k]; ok && len(it.Value) > 0 {
			items[i].Value, items[i].ETag = it.Value, it.Etag
		}
	}
	return items, nil
}

func (s *DaprState) Transact(ctx context.Context, ops ...Op) error {
	dops := make([]*dapr.StateOperation, 0, len(ops))
	for _, op := range ops {
		item := &dapr.SetStateItem{Key: op.Key, Options: &dapr.StateOptions{
			Concurrency: dapr.StateConcurrencyLastWrite,
			Consistency: dapr.StateConsistencyStrong,
		}}
		if op.ETag != "" {
			item.Etag = &dapr.ETag{Value: op.ETag}
			item.Options.Concurrency = dapr.StateConcurrencyFirstWrite
		}
		if op.Create {
			item.Options.Concurrency = dapr.StateConcurrencyFirstWrite
		}
		typ := dapr.StateOperationTypeUpsert
		if op.Delete {
			typ = dapr.StateOperationTypeDelete
		} else {
			b, err := json.Marshal(op.Value)
			if err != nil {
				return fmt.Errorf("encode %s: %w", op.Key, err)
			}
			item.Value = b
			item.Metadata = map[string]string{"contentType": "application/json"}
		}
		dops = append(dops, &dapr.StateOperation{Type: typ, Item: item})
	}
	if err := s.client.ExecuteStateTransaction(ctx, s.store, nil, dops); err != nil {
		return wrap(err, "transaction")
	}
	return nil
}

func (s *DaprState) Query(ctx context.Context, query string) ([]Item, string, error) {
	resp, err := s.client.QueryStateAlpha1(ctx, s.store, query, nil)
	if err != nil {
		return nil, "", wrap(err, "query")
	}
	items := make([]Item, 0, len(resp.Results))
	for _, r := range resp.Results {
		if r.Error != "" {
			return nil, "", fmt.Errorf("%w: query %s: %s", ErrUnavailable, r.Key, r.Error)
		}
		items = append(items, Item{Key: r.Key, Value: r.Value, ETag: r.Etag})
	}
	return items, resp.Token, nil
}

// wrap classifies a sidecar error. The state API reports a failed condition
// inside a transaction as a generic error whose text names it: "possible etag
// mismatch" for a stale ETag, "no item was updated" for a first-write on a key
// that exists. Those become ErrConflict; anything else is ErrUnavailable.
func wrap(err error, what string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	st, _ := status.FromError(err)
	msg := strings.ToLower(st.Message())
	switch {
	case st.Code() == codes.Aborted,
		strings.Contains(msg, "etag mismatch"),
		strings.Contains(msg, "invalid etag"),
		strings.Contains(msg, "no item was updated"),
		strings.Contains(msg, "duplicate key"):
		return fmt.Errorf("%s: %w: %v", what, ErrConflict, err)
	}
	return fmt.Errorf("%s: %w: %v", what, ErrUnavailable, err)
}
