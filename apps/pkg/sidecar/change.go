package sidecar

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// Change is one unit of work on a service's own store: the keys it reads, and
// the decision it takes from what they hold. The same Change runs alone (an
// HTTP request, through Apply) or with others (a batch of deliveries, through
// ApplyAll); either way the keys are read, Decide is called, and what it
// returns is committed through the outbox, every write asserting the ETag its
// key was read with.
//
// Decide must be a pure function of what was read: it may run more than once
// (after a lost race, or alone after its batch lost one), and only the last
// run's Effect is committed.
type Change struct {
	Keys []string
	// Then, when set, names more keys to read once Keys are read: those that
	// depend on what Keys hold (an order's ticket). Decide sees both.
	Then   func(Read) []string
	Decide func(Read) (Effect, error)
}

// Outcome returns c with the errors of its decision mapped by f: a handler
// says there, out loud, which domain error is a SUCCESS (nil), a DROP (Drop)
// or a RETRY (any other error).
func (c Change) Outcome(f func(error) error) Change {
	decide := c.Decide
	c.Decide = func(r Read) (Effect, error) {
		eff, err := decide(r)
		if err != nil {
			return Effect{}, f(err)
		}
		return eff, nil
	}
	return c
}

// Read is what a Change read, by key. A key that does not exist has an Item
// with no value (Found is false) and no ETag.
type Read map[string]Item

// Item returns the item read for key (empty if key was not among the keys).
func (r Read) Item(key string) Item {
	if it, ok := r[key]; ok {
		return it
	}
	return Item{Key: key}
}

// Effect is what a Change decided: the writes and the events they cause. The
// zero Effect changes nothing (a redelivery, a no-op).
type Effect struct {
	Ops    []Op
	Events []events.Message
}

func (e Effect) empty() bool { return len(e.Ops) == 0 && len(e.Events) == 0 }

// Put is the write of v over what was read as it: it asserts the ETag read,
// or, for a key that did not exist, that nobody created it meanwhile.
func Put(it Item, v any) Op {
	if it.ETag == "" {
		return Op{Key: it.Key, Value: v, Create: true}
	}
	return Op{Key: it.Key, Value: v, ETag: it.ETag}
}

// ApplyAttempts bounds the re-read-and-decide loop of a change that keeps
// losing races; then its ErrConflict stands (409 to a user, RETRY for an event).
const ApplyAttempts = 5

// Apply runs one change: it reads the keys, decides, and commits the effect
// with its events; on a lost race (ErrConflict) it reads again and decides
// again, at most ApplyAttempts times. Errors are Decide's, ErrUnavailable, or
// ErrConflict once the attempts are spent.
func (o *Outbox) Apply(ctx context.Context, c Change) error {
	var err error
	for range ApplyAttempts {
		var read Read
		if read, err = o.readAll(ctx, []Change{c}); err != nil {
			return err
		}
		var eff Effect
		if eff, err = c.Decide(read); err != nil || eff.empty() {
			return err
		}
		if err = o.Commit(ctx, eff.Ops, eff.Events...); !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return err
}

// ApplyAll runs changes together and returns each one's error (nil: done).
// The changes whose keys (read or written) are disjoint share one bulk read,
// one transaction and one publish per topic; a change that touches a key an
// earlier one touches, and every change of a batch whose transaction lost a
// race, runs alone through Apply afterwards, in order. So a batch costs three
// sidecar calls where its changes alone would cost three each, and no change
// ever sees a decision taken on a version another one overwrote.
func (o *Outbox) ApplyAll(ctx context.Context, cs []Change) []error {
	if len(cs) == 1 {
		return []error{o.Apply(ctx, cs[0])}
	}
	errs, alone := o.together(ctx, cs)
	for _, i := range alone {
		errs[i] = o.Apply(ctx, cs[i])
	}
	return errs
}

// together commits the changes of cs that can share a transaction, and
// returns each change's error and, in order, the changes that must run alone
// (their errors are not set): those that overlap an earlier one, and all of
// them if the shared transaction lost a race.
func (o *Outbox) together(ctx context.Context, cs []Change) (errs []error, alone []int) {
	errs = make([]error, len(cs))
	read, err := o.readAll(ctx, cs)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs, nil
	}
	var (
		batched []int // their effects are in the batch
		ops     []Op
		msgs    []events.Message
		touched = map[string]bool{}
	)
	for i, c := range cs {
		keys := c.keys(read)
		if overlaps(touched, keys, nil) {
			alone = append(alone, i)
			continue
		}
		eff, err := c.Decide(read)
		if err != nil || eff.empty() {
			errs[i] = err // decided on what was read; it writes nothing
			continue
		}
		if overlaps(touched, keys, eff.Ops) {
			alone = append(alone, i)
			continue
		}
		markTouched(touched, keys, eff.Ops)
		batched = append(batched, i)
		ops = append(ops, eff.Ops...)
		msgs = append(msgs, eff.Events...)
	}
	if len(batched) > 0 {
		err := o.Commit(ctx, ops, msgs...)
		switch {
		case errors.Is(err, ErrConflict):
			// Someone else wrote one of the keys: which change lost is unknown,
			// so each runs alone, reading afresh.
			alone = append(alone, batched...)
			slices.Sort(alone)
		case err != nil:
			for _, i := range batched {
				errs[i] = err
			}
		}
	}
	return errs, alone
}

func overlaps(touched map[string]bool, keys []string, ops []Op) bool {
	for _, k := range keys {
		if touched[k] {
			return true
		}
	}
	for _, op := range ops {
		if touched[op.Key] {
			return true
		}
	}
	return false
}

func markTouched(touched map[string]bool, keys []string, ops []Op) {
	for _, k := range keys {
		touched[k] = true
	}
	for _, op := range ops {
		touched[op.Key] = true
	}
}

// keys are all the keys c reads, once read holds its first ones.
func (c Change) keys(read Read) []string {
	if c.Then == nil {
		return c.Keys
	}
	return append(slices.Clip(c.Keys), c.Then(read)...)
}

// readAll reads every key of cs: the Keys of all in one call, then the keys
// their Then names in a second one.
func (o *Outbox) readAll(ctx context.Context, cs []Change) (Read, error) {
	read := Read{}
	var first []string
	for _, c := range cs {
		first = append(first, c.Keys...)
	}
	if err := o.read(ctx, read, first); err != nil {
		return nil, err
	}
	var then []string
	for _, c := range cs {
		if c.Then != nil {
			then = append(then, c.Then(read)...)
		}
	}
	if err := o.read(ctx, read, then); err != nil {
		return nil, err
	}
	return read, nil
}

// read fetches the keys that read does not hold yet, in one call.
func (o *Outbox) read(ctx context.Context, read Read, keys []string) error {
	var missing []string
	asked := map[string]bool{}
	for _, k := range keys {
		if _, ok := read[k]; !ok && !asked[k] {
			asked[k] = true
			missing = append(missing, k)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		it, err := o.state.Get(ctx, missing[0])
		if err != nil {
			return err
		}
		read[missing[0]] = it
		return nil
	}
	items, err := o.state.GetBulk(ctx, missing)
	if err != nil {
		return err
	}
	if len(items) != len(missing) {
		return fmt.Errorf("%w: bulk get of %d keys answered %d", ErrUnavailable, len(missing), len(items))
	}
	for _, it := range items {
		read[it.Key] = it
	}
	return nil
}
