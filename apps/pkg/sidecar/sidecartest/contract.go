package sidecartest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// StateContract is what every sidecar.State must do, as the services rely on
// it: the fake above and the real sidecar (with PostgreSQL or MongoDB behind
// it) run the same cases. Keys are made unique per run, so a real store can
// be shared with other users.
func StateContract(t *testing.T, s sidecar.State) {
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	run := hex.EncodeToString(b[:])
	key := func(name string) string { return "contract|" + run + "|" + name }
	type doc struct {
		Kind string `json:"kind"`
		Run  string `json:"run"`
		N    int    `json:"n"`
	}
	get := func(t *testing.T, k string) sidecar.Item {
		t.Helper()
		it, err := s.Get(ctx, k)
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		return it
	}
	value := func(t *testing.T, it sidecar.Item) doc {
		t.Helper()
		var d doc
		if err := it.Decode(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	conflict := func(t *testing.T, err error, what string) {
		t.Helper()
		if !errors.Is(err, sidecar.ErrConflict) {
			t.Fatalf("%s: %v, want ErrConflict", what, err)
		}
	}

	t.Run("a missing key is found empty, without an ETag", func(t *testing.T) {
		it := get(t, key("missing"))
		if it.Found() || it.ETag != "" {
			t.Errorf("got %+v, want nothing", it)
		}
	})
	t.Run("create-only writes once", func(t *testing.T) {
		k := key("create")
		if err := s.Transact(ctx, sidecar.Op{Key: k, Value: doc{N: 1}, Create: true}); err != nil {
			t.Fatal(err)
		}
		conflict(t, s.Transact(ctx, sidecar.Op{Key: k, Value: doc{N: 2}, Create: true}), "second create")
		if got := value(t, get(t, k)); got.N != 1 {
			t.Errorf("n = %d after a refused create, want 1", got.N)
		}
	})
	t.Run("a write asserting a stale ETag is refused", func(t *testing.T) {
		k := key("etag")
		if err := s.Transact(ctx, sidecar.Op{Key: k, Value: doc{N: 1}}); err != nil {
			t.Fatal(err)
		}
		first := get(t, k)
		if first.ETag == "" {
			t.Fatal("a stored item has no ETag")
		}
		if err := s.Transact(ctx, sidecar.Op{Key: k, Value: doc{N: 2}, ETag: first.ETag}); err != nil {
			t.Fatalf("write with the current ETag: %v", err)
		}
		second := get(t, k)
		if second.ETag == first.ETag {
			t.Error("the ETag did not change with the value")
		}
		conflict(t, s.Transact(ctx, sidecar.Op{Key: k, Value: doc{N: 3}, ETag: first.ETag}), "write with a stale ETag")
		conflict(t, s.Transact(ctx, sidecar.Op{Key: k, Delete: true, ETag: first.ETag}), "delete with a stale ETag")
		if got := value(t, get(t, k)); got.N != 2 {
			t.Errorf("n = %d, want 2", got.N)
		}
	})
	t.Run("a transaction applies every write or none", func(t *testing.T) {
		a, b := key("tx-a"), key("tx-b")
		if err := s.Transact(ctx, sidecar.Op{Key: b, Value: doc{N: 1}}); err != nil {
			t.Fatal(err)
		}
		conflict(t, s.Transact(ctx,
			sidecar.Op{Key: a, Value: doc{N: 1}},
			sidecar.Op{Key: b, Value: doc{N: 2}, Create: true},
		), "a transaction with one refused write")
		if it := get(t, a); it.Found() {
			t.Errorf("%s was written by a refused transaction", a)
		}
		if err := s.Transact(ctx, sidecar.Op{Key: a, Value: doc{N: 1}}, sidecar.Op{Key: b, Delete: true}); err != nil {
			t.Fatal(err)
		}
		if !get(t, a).Found() || get(t, b).Found() {
			t.Error("a committed transaction did not write and delete")
		}
	})
	t.Run("bulk reads answer every key in order", func(t *testing.T) {
		a, missing := key("bulk-a"), key("bulk-missing")
		if err := s.Transact(ctx, sidecar.Op{Key: a, Value: doc{N: 7}}); err != nil {
			t.Fatal(err)
		}
		items, err := s.GetBulk(ctx, []string{missing, a})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) != 2 || items[0].Key != missing || items[0].Found() || items[1].Key != a || value(t, items[1]).N != 7 || items[1].ETag == "" {
			t.Errorf("bulk get = %+v, want [missing, a=7 with its ETag]", items)
		}
	})
	t.Run("a query filters, sorts and pages", func(t *testing.T) {
		kind := "contract-" + run
		var ops []sidecar.Op
		for n := range 7 {
			ops = append(ops, sidecar.Op{Key: key(fmt.Sprintf("q%d", n)), Value: doc{Kind: kind, Run: run, N: n}})
		}
		ops = append(ops, sidecar.Op{Key: key("q-other"), Value: doc{Kind: "other", Run: run, N: 99}})
		if err := s.Transact(ctx, ops...); err != nil {
			t.Fatal(err)
		}
		for _, order := range []string{"ASC", "DESC"} {
			var got []int
			token := ""
			for page := 0; page < 10; page++ {
				q := fmt.Sprintf(`{"filter":{"EQ":{"kind":%q}},"sort":[{"key":"n","order":%q}],"page":{"limit":3,"token":%q}}`, kind, order, token)
				items, next, err := s.Query(ctx, q)
				if err != nil {
					t.Fatalf("query: %v", err)
				}
				for _, it := range items {
					got = append(got, value(t, it).N)
				}
				if next == "" || len(items) < 3 {
					break
				}
				token = next
			}
			want := []int{0, 1, 2, 3, 4, 5, 6}
			if order == "DESC" {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s pages = %v, want %v", order, got, want)
			}
		}
	})
}
