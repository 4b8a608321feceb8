package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// scheduler is expiration's behaviour: schedule on order:created, forget on
// order:cancelled, publish when a reminder fires.
type scheduler struct {
	log        *slog.Logger
	store      *scheduleStore
	reminders  reminders
	retryDelay time.Duration
	lateness   *latenessStats
	now        func() time.Time
}

// attempts bounds the re-read-and-retry loops on a lost ETag race.
const attempts = 5

// scheduleChange is the Change that remembers an order's deadline, unless
// expiration knows the order already: a duplicate (scheduled), an order
// cancelled before its creation reached us (cancelled), or a late redelivery
// after firing (fired). remind is set when the order's reminder must be
// registered: a new schedule, or a redelivery of one still waiting (whose
// reminder may not have been registered before a crash; registering again
// replaces the same reminder).
func scheduleChange(orderID string, expiresAt time.Time, remind *bool) sidecar.Change {
	return sidecar.Change{
		Keys: []string{scheduleKey(orderID)},
		Decide: func(r sidecar.Read) (sidecar.Effect, error) {
			it := r.Item(scheduleKey(orderID))
			if it.Found() {
				var sc schedule
				if err := it.Decode(&sc); err != nil {
					return sidecar.Effect{}, err
				}
				*remind = sc.Status == statusScheduled
				return sidecar.Effect{}, nil
			}
			*remind = true
			return sidecar.Effect{Ops: []sidecar.Op{writeOp(schedule{OrderID: orderID, ExpiresAt: expiresAt, Status: statusScheduled}, "")}}, nil
		},
	}
}

// cancelChange is the Change that forgets an order's deadline: a tombstone stops a
// late order:created from scheduling it again. unremind is set when a
// reminder may be waiting and must be removed.
func cancelChange(orderID string, unremind *bool) sidecar.Change {
	return sidecar.Change{
		Keys: []string{scheduleKey(orderID)},
		Decide: func(r sidecar.Read) (sidecar.Effect, error) {
			it := r.Item(scheduleKey(orderID))
			sc := schedule{OrderID: orderID}
			if it.Found() {
				if err := it.Decode(&sc); err != nil {
					return sidecar.Effect{}, err
				}
				if sc.final() {
					return sidecar.Effect{}, nil
				}
			}
			*unremind = it.Found()
			sc.Status = statusCancelled
			return sidecar.Effect{Ops: []sidecar.Op{writeOp(sc, it.ETag)}}, nil
		},
	}
}

// onOrdersCreated schedules each order's deadline: the records of a batch in
// one transaction, then each new one's reminder at its expiresAt (the order
// says when, not "now + a constant"). A crash between the two leaves a record
// without a reminder: the delivery is then redelivered (registering it), and
// the sweep fires it should that fail too.
// SUCCESS once scheduled (or nothing to do); RETRY if the sidecar or store
// failed; DROP a payload that does not decode.
func (s *scheduler) onOrdersCreated(ctx context.Context, es []sidecar.Event) []error {
	type due struct {
		orderID string
		at      time.Time
		remind  bool
	}
	dues := make([]*due, len(es))
	return s.then(ctx, es, func(e sidecar.Event, i int) (sidecar.Change, error) {
		ev, err := sidecar.DecodeData[events.OrderCreatedEvent](e)
		if err != nil {
			return sidecar.Change{}, err
		}
		if ev.ID == "" || ev.ExpiresAt.IsZero() {
			return sidecar.Change{}, sidecar.Drop(fmt.Errorf("order:created %s without id or expiresAt", e.ID))
		}
		d := &due{orderID: ev.ID, at: ev.ExpiresAt}
		dues[i] = d
		return scheduleChange(ev.ID, ev.ExpiresAt, &d.remind), nil
	}, func(ctx context.Context, i int) error {
		if d := dues[i]; d != nil && d.remind {
			return s.reminders.register(ctx, d.orderID, reminderName, d.at)
		}
		return nil
	})
}

// onOrdersCancelled forgets each order's deadline and removes its reminder.
// SUCCESS once forgotten; RETRY if the sidecar or store failed; DROP a payload
// that does not decode.
func (s *scheduler) onOrdersCancelled(ctx context.Context, es []sidecar.Event) []error {
	ids := make([]string, len(es))
	unremind := make([]bool, len(es))
	return s.then(ctx, es, func(e sidecar.Event, i int) (sidecar.Change, error) {
		ev, err := sidecar.DecodeData[events.OrderCancelledEvent](e)
		if err != nil {
			return sidecar.Change{}, err
		}
		if ev.ID == "" {
			return sidecar.Change{}, sidecar.Drop(fmt.Errorf("order:cancelled %s without id", e.ID))
		}
		ids[i] = ev.ID
		return cancelChange(ev.ID, &unremind[i]), nil
	}, func(ctx context.Context, i int) error {
		if unremind[i] {
			return s.reminders.unregister(ctx, ids[i], reminderName)
		}
		return nil
	})
}

// then applies the changes build makes of es together, then runs after (in
// parallel) for each event whose change succeeded; an event's outcome is the
// first error of the two.
func (s *scheduler) then(ctx context.Context, es []sidecar.Event, build func(sidecar.Event, int) (sidecar.Change, error), after func(context.Context, int) error) []error {
	errs := make([]error, len(es))
	cs := make([]sidecar.Change, 0, len(es))
	idx := make([]int, 0, len(es))
	for i, e := range es {
		c, err := build(e, i)
		if err != nil {
			errs[i] = err
			continue
		}
		cs = append(cs, c)
		idx = append(idx, i)
	}
	for j, err := range s.store.outbox.ApplyAll(ctx, cs) {
		errs[idx[j]] = err
	}
	var wg sync.WaitGroup
	for i := range es {
		if errs[i] == nil {
			wg.Go(func() { errs[i] = after(ctx, i) })
		}
	}
	wg.Wait()
	return errs
}

// fire handles a reminder. It must not lose the expiration: if the firing
// cannot be committed (the store is down), it registers a follow-up reminder
// before answering, and only if that fails too does it answer an error (the
// scheduler then retries a few times).
func (s *scheduler) fire(ctx context.Context, orderID string) error {
	err := s.tryFire(ctx, orderID)
	if err == nil {
		return nil
	}
	retryAt := s.now().Add(s.retryDelay)
	// A fresh name each time: the scheduler deletes the reminder that is firing
	// now once this call returns, and must not take the follow-up with it.
	name := fmt.Sprintf("%s-%d", retryReminderName, retryAt.UnixNano())
	if rerr := s.reminders.register(ctx, orderID, name, retryAt); rerr != nil {
		return fmt.Errorf("fire order %s: %w (and re-registering failed: %v)", orderID, err, rerr)
	}
	s.log.Warn("expiration could not be committed; retrying later", "order", orderID, "retry_at", retryAt, "err", err)
	return nil
}

func (s *scheduler) tryFire(ctx context.Context, orderID string) error {
	for range attempts {
		sc, etag, found, err := s.store.get(ctx, orderID)
		if err != nil {
			return err
		}
		if found && sc.final() {
			return nil // cancelled first, or a repeated firing
		}
		if !found {
			// The reminder fired before schedule saved its record (a deadline
			// already past): fire all the same.
			sc = schedule{OrderID: orderID, ExpiresAt: s.now()}
		}
		now := s.now()
		sc.Status, sc.FiredAt = statusFired, now
		err = s.store.fire(ctx, sc, etag)
		if errors.Is(err, sidecar.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		late := now.Sub(sc.ExpiresAt)
		s.lateness.observe(late)
		s.log.Info("order expired", "order", orderID, "late", late.Round(time.Millisecond))
		return nil
	}
	return fmt.Errorf("fire order %s: %w", orderID, sidecar.ErrConflict)
}

