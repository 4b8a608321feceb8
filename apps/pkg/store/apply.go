package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/tracing"
)

// How a write works, from read to commit to publish. Each step is below the
// one before it, in this file and then in batch.go and outbox.go.

// Change is one unit of work on the store: the keys it reads, and the
// decision it takes from what they hold.
//
// Decide must be a pure function of what was read: it may run more than once
// (after a lost race, or alone after its batch lost one), and only the last
// run's result and Effect count. It returns the change's result (what Apply
// gives back to its caller), the Effect to commit, or an error that refuses
// the change (nothing is written).
type Change[T any] struct {
	Keys []string
	// Then, when set, names more keys to read once Keys are read: those that
	// depend on what Keys hold (an order's ticket). Decide sees both.
	Then   func(Read) []string
	Decide func(Read) (T, Effect, error)
	// Trace is the W3C traceparent the change's events continue (a delivered
	// event's own); empty, the caller's context's.
	Trace string
}

// Outcome returns c with the errors of its decision mapped by f: an event
// handler says there, out loud, which domain error is a SUCCESS (nil), a
// DROP or a RETRY.
func (c Change[T]) Outcome(f func(error) error) Change[T] {
	decide := c.Decide
	c.Decide = func(r Read) (T, Effect, error) {
		v, eff, err := decide(r)
		if err != nil {
			return v, Effect{}, f(err)
		}
		return v, eff, nil
	}
	return c
}

// Item is one stored value with its ETag; Op is one write of an Effect.
type (
	Item = sidecar.Item
	Op   = sidecar.Op
)

// The errors of the store itself: a write that kept losing races, and a
// store (or sidecar) that could not be reached.
var (
	ErrConflict    = sidecar.ErrConflict
	ErrUnavailable = sidecar.ErrUnavailable
)

// Read is what a Change read, by key. A key that does not exist has an Item
// with no value (Found is false) and no ETag.
type Read map[string]sidecar.Item

// Item returns the item read for key (empty if key was not among the keys).
func (r Read) Item(key string) sidecar.Item {
	if it, ok := r[key]; ok {
		return it
	}
	return sidecar.Item{Key: key}
}

// Effect is what a Change decided: the writes and the events they cause. The
// zero Effect changes nothing (a redelivery, a no-op).
type Effect struct {
	Ops    []sidecar.Op
	Events []events.Message
}

func (e Effect) empty() bool { return len(e.Ops) == 0 && len(e.Events) == 0 }

// Put is the write of v over what was read as it: it asserts the ETag read,
// or, for a key that did not exist, that nobody created it meanwhile.
func Put(it sidecar.Item, v any) sidecar.Op {
	if it.ETag == "" {
		return sidecar.Op{Key: it.Key, Value: v, Create: true}
	}
	return sidecar.Op{Key: it.Key, Value: v, ETag: it.ETag}
}

// Create is the write of a new key; it fails (a lost race) if the key exists.
func Create(key string, v any) sidecar.Op { return sidecar.Op{Key: key, Value: v, Create: true} }

// Delete removes what was read as it, asserting its ETag.
func Delete(it sidecar.Item) sidecar.Op { return sidecar.Op{Key: it.Key, ETag: it.ETag, Delete: true} }

// Attempts bounds the re-read-and-decide loop of a change that keeps losing
// races; then its ErrConflict stands (409 to a user, RETRY for an event).
const Attempts = 5

// Apply runs one change and returns its result. Its errors are Decide's,
// sidecar.ErrUnavailable, or sidecar.ErrConflict once the attempts are spent.
// Once submitted, a change is seen through even if ctx ends: it may commit,
// and its caller must not answer as though it had not.
func Apply[T any](ctx context.Context, s *Store, c Change[T]) (T, error) {
	u := newUnit(ctx, c)
	s.apply(ctx, []*unit{u})
	v, _ := u.result.(T)
	return v, u.err
}

// ApplyAll runs the changes of one delivery and returns each one's result and
// error, in order. Changes that touch a key an earlier one touches run after
// it, each on what the one before wrote.
func ApplyAll[T any](ctx context.Context, s *Store, cs []Change[T]) ([]T, []error) {
	us := make([]*unit, len(cs))
	for i, c := range cs {
		us[i] = newUnit(ctx, c)
	}
	s.apply(ctx, us)
	results, errs := make([]T, len(us)), make([]error, len(us))
	for i, u := range us {
		results[i], _ = u.result.(T)
		errs[i] = u.err
	}
	return results, errs
}

// unit is a Change of any result type, and what became of it.
type unit struct {
	keys   []string
	then   func(Read) []string
	decide func(Read) (any, Effect, error)
	trace  string

	result any
	err    error
	// alone: the change could not share its batch (it overlaps an earlier
	// change, or the batch lost a race); its caller runs it by itself.
	alone bool
	// tries counts its commits, batched or alone: at most Attempts.
	tries int
}

func newUnit[T any](ctx context.Context, c Change[T]) *unit {
	trace := c.Trace
	if trace == "" {
		trace = tracing.Parent(ctx)
	}
	return &unit{
		keys: c.Keys, then: c.Then, trace: trace,
		decide: func(r Read) (any, Effect, error) { return c.Decide(r) },
	}
}

// apply runs the units of one call: together with whatever else is being
// applied (batch.go), then, in order, those that had to run alone.
func (s *Store) apply(ctx context.Context, us []*unit) {
	if !s.submit(ctx, us) {
		s.together(ctx, us)
	}
	for _, u := range us {
		if u.alone {
			s.alone(ctx, u)
		}
	}
}

// alone runs a unit by itself: read, decide, commit; on a lost race read
// again and decide again, at most Attempts times.
func (s *Store) alone(ctx context.Context, u *unit) {
	u.alone = false
	for ; u.tries < Attempts; u.tries++ {
		read, err := s.readAll(ctx, []*unit{u})
		if err != nil {
			u.err = err
			return
		}
		var eff Effect
		if u.result, eff, u.err = u.decide(read); u.err != nil || eff.empty() {
			return
		}
		u.err = s.commit(tracing.WithParent(ctx, u.trace), eff.Ops, stamp(eff.Events, u.trace))
		if !errors.Is(u.err, sidecar.ErrConflict) {
			return
		}
	}
}

// commit applies ops and records msgs in one transaction, then hands msgs to
// the outbox, which publishes them. It fails only if the transaction fails
// (sidecar.ErrConflict on a stale ETag): once it returns nil, the events will
// be published.
func (s *Store) commit(ctx context.Context, ops []sidecar.Op, msgs []events.Message) error {
	now := time.Now().UTC()
	all := make([]sidecar.Op, 0, len(ops)+len(msgs))
	all = append(all, ops...)
	for _, m := range msgs {
		all = append(all, outboxRecordOp(m, now))
	}
	if err := s.state.Transact(ctx, inLockOrder(all)...); err != nil {
		return err
	}
	if len(msgs) > 0 {
		s.outbox.send(ctx, msgs)
	}
	return nil
}

// inLockOrder sorts a transaction's ops by key, so that every transaction
// takes its rows' locks in one order: two that share keys wait for each other
// instead of deadlocking (a batch holds changes in the order they came: one
// cancels orders A then B while another pays B then A), which the database
// would break by aborting one of them after a second's wait. Ops on one key
// keep their order.
func inLockOrder(ops []sidecar.Op) []sidecar.Op {
	slices.SortStableFunc(ops, func(a, b sidecar.Op) int { return strings.Compare(a.Key, b.Key) })
	return ops
}

// stamp gives every event without a trace the change's.
func stamp(msgs []events.Message, trace string) []events.Message {
	for i := range msgs {
		if msgs[i].TraceParent == "" {
			msgs[i].TraceParent = trace
		}
	}
	return msgs
}
