package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
)

// countingState counts the sidecar calls a change costs, and can let someone
// else write just before a transaction.
type countingState struct {
	*sidecartest.State
	mu                   sync.Mutex
	gets, bulks, commits int
	// beforeCommit, when set, runs before the next transaction (once).
	beforeCommit func()
	// latency is how long each transaction takes.
	latency time.Duration
	// keys are the keys of each transaction's ops, in the order sent.
	keys [][]string
}

func (c *countingState) Get(ctx context.Context, key string) (sidecar.Item, error) {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	return c.State.Get(ctx, key)
}

func (c *countingState) GetBulk(ctx context.Context, keys []string) ([]sidecar.Item, error) {
	c.mu.Lock()
	c.bulks++
	c.mu.Unlock()
	return c.State.GetBulk(ctx, keys)
}

func (c *countingState) Transact(ctx context.Context, ops ...sidecar.Op) error {
	c.mu.Lock()
	c.commits++
	f := c.beforeCommit
	c.beforeCommit = nil
	var keys []string
	for _, op := range ops {
		keys = append(keys, op.Key)
	}
	c.keys = append(c.keys, keys)
	c.mu.Unlock()
	if f != nil {
		f()
	}
	time.Sleep(c.latency)
	return c.State.Transact(ctx, ops...)
}

func (c *countingState) calls() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("%d gets, %d bulk gets, %d transactions", c.gets, c.bulks, c.commits)
}

// increment is a change that adds one to a counter key, announces the new
// value and returns it; a missing counter starts at zero.
func increment(key string) Change[int] {
	return Change[int]{
		Keys: []string{key},
		Decide: func(r Read) (int, Effect, error) {
			it := r.Item(key)
			n := 0
			if it.Found() {
				if err := it.Decode(&n); err != nil {
					return 0, Effect{}, err
				}
			}
			n++
			return n, Effect{
				Ops:    []sidecar.Op{Put(it, n)},
				Events: []events.Message{{ID: key + "/" + strconv.Itoa(n), Topic: events.TicketUpdated, Data: n}},
			}, nil
		},
	}
}

func counter(t *testing.T, s sidecar.State, key string) int {
	t.Helper()
	it, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if it.Found() {
		if err := json.Unmarshal(it.Value, &n); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func newCounting() (*countingState, *sidecartest.Publisher, *Store) {
	state := &countingState{State: sidecartest.NewState()}
	pub := &sidecartest.Publisher{}
	return state, pub, New(state, pub, quiet)
}

func noErrors(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Errorf("change %d: %v", i, err)
		}
	}
}

func TestApplyAllSharesOneReadOneTransactionAndOnePublish(t *testing.T) {
	state, pub, ob := newCounting()
	_, errs := ApplyAll(context.Background(), ob, []Change[int]{increment("a"), increment("b"), increment("c")})
	noErrors(t, errs)
	for _, k := range []string{"a", "b", "c"} {
		if got := counter(t, state.State, k); got != 1 {
			t.Errorf("%s = %d, want 1", k, got)
		}
	}
	if got, want := state.calls(), "0 gets, 1 bulk gets, 1 transactions"; got != want {
		t.Errorf("calls: %s, want %s", got, want)
	}
	if pub.Calls() != 1 || len(pub.Messages()) != 3 {
		t.Errorf("%d publish calls of %d events, want 1 of 3", pub.Calls(), len(pub.Messages()))
	}
}

func TestApplyAllRunsChangesOfOneKeyOneAfterAnother(t *testing.T) {
	// Three deliveries for one aggregate in one batch: one transaction cannot
	// assert three versions of a key, so the second and third run alone, each
	// on what the one before wrote.
	state, pub, ob := newCounting()
	results, errs := ApplyAll(context.Background(), ob, []Change[int]{increment("a"), increment("b"), increment("a"), increment("a")})
	noErrors(t, errs)
	if fmt.Sprint(results) != "[1 1 2 3]" {
		t.Errorf("results %v, want [1 1 2 3]: each change returns what it decided", results)
	}
	if got := counter(t, state.State, "a"); got != 3 {
		t.Errorf("a = %d, want 3 (no increment lost)", got)
	}
	var ids []string
	for _, m := range pub.Messages() {
		ids = append(ids, m.ID)
	}
	if want := "[a/1 b/1 a/2 a/3]"; fmt.Sprint(ids) != want {
		t.Errorf("published %v, want %s", ids, want)
	}
}

func TestApplyAllRunsEveryChangeAloneWhenTheBatchLosesARace(t *testing.T) {
	state, _, ob := newCounting()
	ctx := context.Background()
	if _, err := Apply(ctx, ob, increment("a")); err != nil {
		t.Fatal(err)
	}
	// Someone else moves "a" between the batch's read and its transaction.
	state.beforeCommit = func() {
		if err := state.State.Transact(ctx, sidecar.Op{Key: "a", Value: 10}); err != nil {
			t.Error(err)
		}
	}
	_, errs := ApplyAll(ctx, ob, []Change[int]{increment("a"), increment("b")})
	noErrors(t, errs)
	if got := counter(t, state.State, "a"); got != 11 {
		t.Errorf("a = %d, want 11 (decided again on what won)", got)
	}
	if got := counter(t, state.State, "b"); got != 1 {
		t.Errorf("b = %d, want 1 (committed exactly once)", got)
	}
}

func TestApplyAllGivesEachChangeItsOwnOutcome(t *testing.T) {
	state, pub, ob := newCounting()
	refused := errors.New("refused")
	refuse := Change[int]{Keys: []string{"x"}, Decide: func(Read) (int, Effect, error) {
		return 0, Effect{}, fmt.Errorf("decided: %w", refused)
	}}
	noop := Change[int]{Keys: []string{"y"}, Decide: func(Read) (int, Effect, error) {
		return 7, Effect{}, nil
	}}
	results, errs := ApplyAll(context.Background(), ob, []Change[int]{increment("a"), refuse, noop})
	if results[2] != 7 {
		t.Errorf("the no-op's result is %d, want 7", results[2])
	}
	if errs[0] != nil || !errors.Is(errs[1], refused) || errs[2] != nil {
		t.Errorf("outcomes %v, want [nil refused nil]", errs)
	}
	if got := counter(t, state.State, "a"); got != 1 {
		t.Errorf("a = %d, want 1: a refused change must not hold back the others", got)
	}
	if len(pub.Messages()) != 1 {
		t.Errorf("published %v, want only a's event", pub.Messages())
	}
}

func TestApplyAllFailsTheBatchWhenTheStoreIsDown(t *testing.T) {
	state, pub, ob := newCounting()
	state.FailNext = fmt.Errorf("%w: connection refused", sidecar.ErrUnavailable)
	_, errs := ApplyAll(context.Background(), ob, []Change[int]{increment("a"), increment("b")})
	for i, err := range errs {
		if !errors.Is(err, sidecar.ErrUnavailable) {
			t.Errorf("change %d: %v, want ErrUnavailable (RETRY)", i, err)
		}
	}
	if len(pub.Messages()) != 0 || len(state.Keys()) != 0 {
		t.Errorf("published %v and stored %v for a batch that was not saved", pub.Messages(), state.Keys())
	}
}

func TestThenReadsKeysThatDependOnWhatWasRead(t *testing.T) {
	state, _, ob := newCounting()
	ctx := context.Background()
	if err := state.State.Transact(ctx, sidecar.Op{Key: "order|o1", Value: map[string]string{"ticket": "t1"}}, sidecar.Op{Key: "ticket|t1", Value: 5}); err != nil {
		t.Fatal(err)
	}
	var seen int
	c := Change[struct{}]{
		Keys: []string{"order|o1"},
		Then: func(r Read) []string {
			var o map[string]string
			_ = r.Item("order|o1").Decode(&o)
			return []string{"ticket|" + o["ticket"]}
		},
		Decide: func(r Read) (struct{}, Effect, error) {
			return struct{}{}, Effect{}, r.Item("ticket|t1").Decode(&seen)
		},
	}
	if _, err := Apply(ctx, ob, c); err != nil {
		t.Fatal(err)
	}
	if seen != 5 {
		t.Errorf("Decide saw ticket %d, want 5", seen)
	}
}

func TestApplyDecidesAgainAfterALostRace(t *testing.T) {
	state, _, ob := newCounting()
	ctx := context.Background()
	state.beforeCommit = func() {
		if err := state.State.Transact(ctx, sidecar.Op{Key: "a", Value: 41}); err != nil {
			t.Error(err)
		}
	}
	if n, err := Apply(ctx, ob, increment("a")); err != nil || n != 42 {
		t.Fatalf("Apply = %d, %v; want 42 (decided again on what won)", n, err)
	}
	if got := counter(t, state.State, "a"); got != 42 {
		t.Errorf("a = %d, want 42", got)
	}
}

func TestATransactionLocksItsKeysInOrder(t *testing.T) {
	// Two batches over the same keys, taken in opposite orders, must lock
	// them in one order, or the database breaks their deadlock by aborting
	// one after a second's wait.
	state, _, ob := newCounting()
	ctx := context.Background()
	_, errs := ApplyAll(ctx, ob, []Change[int]{increment("orders||b"), increment("orders||a"), increment("orders||c")})
	noErrors(t, errs)
	_, errs = ApplyAll(ctx, ob, []Change[int]{increment("orders||c"), increment("orders||a")})
	noErrors(t, errs)
	state.mu.Lock()
	defer state.mu.Unlock()
	if len(state.keys) != 2 {
		t.Fatalf("%d transactions, want 2", len(state.keys))
	}
	for i, keys := range state.keys {
		if !slices.IsSorted(keys) {
			t.Errorf("transaction %d writes %v, not in key order", i, keys)
		}
		if len(keys) < 4 {
			t.Errorf("transaction %d writes %v, want its changes and their outbox records", i, keys)
		}
	}
}
