package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/tracing"
)

// Group commit. While Run runs, every call's changes go to a queue; a
// committer takes whatever is queued (up to maxBatch changes) and commits it
// together: one bulk read, one transaction, one publish. While one batch
// commits, the next gathers, so that under load N concurrent changes cost
// three sidecar calls instead of three each, and when changes come one at a
// time each commits at once, in a batch of one.

const (
	// maxBatch caps the changes of one batch.
	maxBatch = 64
	// committers is how many batches may commit at once.
	committers = 2
	// batchTimeout bounds one batch's commit: its callers' requests may have
	// been cancelled, but the batch is theirs together, and its outcome must
	// be known.
	batchTimeout = 10 * time.Second
)

// submission is one call's units, waiting for a committer.
type submission struct {
	units []*unit
	done  chan struct{}
}

// submit hands us to the committers and waits until they are decided, even
// if ctx ends meanwhile: once taken, they may be committed. It reports false,
// having done nothing, if no committer runs (the caller commits them).
func (s *Store) submit(ctx context.Context, us []*unit) bool {
	if !s.running.Load() {
		return false
	}
	sub := &submission{units: us, done: make(chan struct{})}
	select {
	case s.queue <- sub:
	case <-s.stopped:
		return false
	case <-ctx.Done():
		for _, u := range us {
			u.err = ctx.Err()
		}
		return true
	}
	select {
	case <-sub.done:
		return true
	case <-s.stopped:
		// The committers are gone; each answered what it took before it
		// returned. A submission still queued was never taken.
		select {
		case <-sub.done:
			return true
		default:
			return false
		}
	}
}

// commitBatches commits what is queued, batch after batch, until ctx ends;
// then it hands what is still queued back to its callers, who commit it
// themselves.
func (s *Store) commitBatches(ctx context.Context) {
	batch := make([]*submission, 0, maxBatch)
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case sub := <-s.queue:
					for _, u := range sub.units {
						u.alone = true
					}
					close(sub.done)
				default:
					return
				}
			}
		case sub := <-s.queue:
			batch = append(batch[:0], sub)
			n := len(sub.units)
		gather:
			for n < maxBatch {
				select {
				case sub := <-s.queue:
					batch = append(batch, sub)
					n += len(sub.units)
				default:
					break gather
				}
			}
			var us []*unit
			for _, sub := range batch {
				us = append(us, sub.units...)
			}
			bctx, cancel := context.WithTimeout(ctx, batchTimeout)
			s.together(bctx, us)
			cancel()
			for _, sub := range batch {
				close(sub.done)
			}
		}
	}
}

// together commits the units whose keys (read or written) are disjoint in
// one transaction, and marks the others to run alone: those that overlap an
// earlier unit, and all of them if the shared transaction lost a race (which
// one lost is unknown, so each decides again on what won).
func (s *Store) together(ctx context.Context, us []*unit) {
	read, err := s.readAll(ctx, us)
	if err != nil {
		for _, u := range us {
			u.err = err
		}
		return
	}
	var (
		batched []*unit
		ops     []sidecar.Op
		msgs    []events.Message
		touched = map[string]bool{}
	)
	for _, u := range us {
		keys := u.keysOf(read)
		if overlaps(touched, keys, nil) {
			u.alone = true
			continue
		}
		var eff Effect
		if u.result, eff, u.err = u.decide(read); u.err != nil || eff.empty() {
			continue // decided on what was read; it writes nothing
		}
		if overlaps(touched, keys, eff.Ops) {
			u.alone = true
			continue
		}
		markTouched(touched, keys, eff.Ops)
		u.tries++
		batched = append(batched, u)
		ops = append(ops, eff.Ops...)
		msgs = append(msgs, stamp(eff.Events, u.trace)...)
	}
	if len(batched) == 0 {
		return
	}
	// The transaction carries the first change's trace; each event its own.
	err = s.commit(tracing.WithParent(ctx, batched[0].trace), ops, msgs)
	switch {
	case errors.Is(err, sidecar.ErrConflict):
		for _, u := range batched {
			u.alone = true
		}
	case err != nil:
		for _, u := range batched {
			u.err = err
		}
	}
}

func overlaps(touched map[string]bool, keys []string, ops []sidecar.Op) bool {
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

func markTouched(touched map[string]bool, keys []string, ops []sidecar.Op) {
	for _, k := range keys {
		touched[k] = true
	}
	for _, op := range ops {
		touched[op.Key] = true
	}
}

// keysOf are all the keys u reads, once read holds its first ones.
func (u *unit) keysOf(read Read) []string {
	if u.then == nil {
		return u.keys
	}
	return append(slices.Clip(u.keys), u.then(read)...)
}

// readAll reads every key of us: the Keys of all in one call, then the keys
// their Then names in a second one.
func (s *Store) readAll(ctx context.Context, us []*unit) (Read, error) {
	read := Read{}
	var first []string
	for _, u := range us {
		first = append(first, u.keys...)
	}
	if err := s.read(ctx, read, first); err != nil {
		return nil, err
	}
	var then []string
	for _, u := range us {
		if u.then != nil {
			then = append(then, u.then(read)...)
		}
	}
	if err := s.read(ctx, read, then); err != nil {
		return nil, err
	}
	return read, nil
}

// read fetches the keys that read does not hold yet, in one call.
func (s *Store) read(ctx context.Context, read Read, keys []string) error {
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
		it, err := s.state.Get(ctx, missing[0])
		if err != nil {
			return err
		}
		read[missing[0]] = it
		return nil
	}
	items, err := s.state.GetBulk(ctx, missing)
	if err != nil {
		return err
	}
	if len(items) != len(missing) {
		return fmt.Errorf("%w: bulk get of %d keys answered %d", sidecar.ErrUnavailable, len(missing), len(items))
	}
	for _, it := range items {
		read[it.Key] = it
	}
	return nil
}
