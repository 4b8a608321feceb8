package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// scheduler is expiration's behaviour: schedule on order:created, forget on
// order:cancelled, publish expiration:complete at each order's deadline.
type scheduler struct {
	log       *slog.Logger
	db        *store.Store
	reminders reminders
	slotWidth time.Duration
	lateness  *latenessStats
	now       func() time.Time
	// wait returns at t, or with ctx's error.
	wait func(ctx context.Context, t time.Time) error

	mu sync.Mutex
	// reminded are the slots whose reminder this process registered, by id:
	// the next order of a slot costs no call to the scheduler.
	reminded map[string]time.Time
}

func newScheduler(log *slog.Logger, db *store.Store, rem reminders, cfg config) *scheduler {
	return &scheduler{
		log: log, db: db, reminders: rem, slotWidth: cfg.SlotWidth,
		lateness: newLatenessStats(), now: time.Now, wait: waitUntil,
		reminded: map[string]time.Time{},
	}
}

func waitUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deadline is an order's, as order:created tells it.
type deadline struct {
	orderID string
	at      time.Time
}

// onOrdersCreated schedules each order's deadline. The orders of a batch whose
// deadlines share a slot are written together with the slot's record, in one
// transaction for the whole batch; then each slot's reminder is registered
// (once per slot and process). An order whose slot has already begun (a late
// delivery, a window shorter than a slot) gets a reminder of its own at its
// deadline instead. A crash between the commit and the reminder leaves the
// delivery unacknowledged: its redelivery registers it, and the sweep fires
// the slot should that fail too.
// SUCCESS once scheduled (or nothing to do: a duplicate, a cancelled or fired
// order); RETRY if the sidecar or store failed; DROP a payload that does not
// decode.
func (s *scheduler) onOrdersCreated(ctx context.Context, es []delivery.Event) []error {
	errs := make([]error, len(es))
	bySlot := map[string][]int{}
	var slotIDs []string
	dls := make([]deadline, len(es))
	for i, e := range es {
		ev, err := delivery.DecodeData[events.OrderCreatedEvent](e)
		if err == nil && (ev.ID == "" || ev.ExpiresAt.IsZero()) {
			err = delivery.Drop(fmt.Errorf("order:created %s without id or expiresAt", e.ID))
		}
		if err != nil {
			errs[i] = err
			continue
		}
		dls[i] = deadline{orderID: ev.ID, at: ev.ExpiresAt}
		id, _ := slotOf(ev.ExpiresAt, s.slotWidth)
		if bySlot[id] == nil {
			slotIDs = append(slotIDs, id)
		}
		bySlot[id] = append(bySlot[id], i)
	}
	slices.Sort(slotIDs)
	cs := make([]store.Change[[]deadline], len(slotIDs))
	for j, id := range slotIDs {
		var group []deadline
		seen := map[string]bool{}
		for _, i := range bySlot[id] {
			if !seen[dls[i].orderID] { // a duplicate delivery in the same batch shares the outcome
				seen[dls[i].orderID] = true
				group = append(group, dls[i])
			}
		}
		cs[j] = s.scheduleSlot(id, group)
		cs[j].Trace = es[bySlot[id][0]].TraceParent
	}
	waiting, errs2 := store.ApplyAll(ctx, s.db, cs)
	for j, err := range errs2 {
		if err == nil {
			err = s.remind(ctx, slotIDs[j], waiting[j])
		}
		for _, i := range bySlot[slotIDs[j]] {
			errs[i] = err
		}
	}
	return errs
}

// scheduleSlot is the Change that records the deadlines of a slot's orders
// and adds them to the slot, unless expiration knows an order already: a
// duplicate, an order cancelled before its creation reached us, or a late
// redelivery after firing. Its result is the orders still waiting for their
// deadline, new or not, which remind gives a reminder.
func (s *scheduler) scheduleSlot(id string, group []deadline) store.Change[[]deadline] {
	keys := []string{slotKey(id)}
	for _, d := range group {
		keys = append(keys, scheduleKey(d.orderID))
	}
	return store.Change[[]deadline]{
		Keys: keys,
		Decide: func(r store.Read) ([]deadline, store.Effect, error) {
			var waiting []deadline
			slIt := r.Item(slotKey(id))
			_, start := slotOf(group[0].at, s.slotWidth)
			sl := slot{Kind: slotKind, ID: id, Start: start}
			if slIt.Found() {
				if err := slIt.Decode(&sl); err != nil {
					return nil, store.Effect{}, err
				}
			}
			var ops []store.Op
			grew := false
			for _, d := range group {
				if it := r.Item(scheduleKey(d.orderID)); it.Found() {
					var sc schedule
					if err := it.Decode(&sc); err != nil {
						return nil, store.Effect{}, err
					}
					if sc.Status != statusScheduled {
						continue // cancelled first, or fired: nothing to schedule
					}
				} else {
					ops = append(ops, writeOp(schedule{OrderID: d.orderID, ExpiresAt: d.at, Status: statusScheduled, Slot: id}, ""))
				}
				waiting = append(waiting, d)
				var added bool
				if sl, added = sl.with(d.orderID); added {
					grew = true
				}
			}
			if grew {
				ops = append(ops, store.Put(slIt, sl))
			}
			return waiting, store.Effect{Ops: ops}, nil
		},
	}
}

// remind makes sure something fires each waiting order: the slot's reminder,
// due at its start, if that is still ahead; else a reminder per order, due at
// its deadline (a slot whose reminder fired already does not see the orders
// that joined it afterwards).
func (s *scheduler) remind(ctx context.Context, id string, waiting []deadline) error {
	if len(waiting) == 0 {
		return nil
	}
	_, start := slotOf(waiting[0].at, s.slotWidth)
	if start.Sub(s.now()) > s.slotLead() {
		return s.remindSlot(ctx, id, start)
	}
	var errs []error
	for _, d := range waiting {
		errs = append(errs, s.reminders.register(ctx, orderActor, d.orderID, orderReminder, d.at))
	}
	return errors.Join(errs...)
}

// slotLead is how far ahead a slot's start must be for the slot's reminder to
// be trusted to see an order joining it now.
func (s *scheduler) slotLead() time.Duration { return min(250*time.Millisecond, s.slotWidth/4) }

// remindSlot registers the slot's reminder once per process; registering it
// again (another process, a restart) replaces it with the same one.
func (s *scheduler) remindSlot(ctx context.Context, id string, start time.Time) error {
	s.mu.Lock()
	_, done := s.reminded[id]
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := s.reminders.register(ctx, slotActor, id, slotReminder, start); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reminded[id] = start
	for other, at := range s.reminded { // forget the slots that are over
		if at.Before(s.now().Add(-time.Minute)) {
			delete(s.reminded, other)
		}
	}
	return nil
}

// onOrdersCancelled forgets each order's deadline: a tombstone stops a late
// order:created from scheduling it again, and its slot skips it. A reminder of
// its own, if it had one, fires and finds nothing to do.
// SUCCESS once forgotten; RETRY if the sidecar or store failed; DROP a payload
// that does not decode.
func (s *scheduler) onOrdersCancelled(ctx context.Context, es []delivery.Event) []error {
	return delivery.Apply(s.db, func(e delivery.Event) (store.Change[struct{}], error) {
		ev, err := delivery.DecodeData[events.OrderCancelledEvent](e)
		if err != nil {
			return store.Change[struct{}]{}, err
		}
		if ev.ID == "" {
			return store.Change[struct{}]{}, delivery.Drop(fmt.Errorf("order:cancelled %s without id", e.ID))
		}
		return cancelChange(ev.ID), nil
	})(ctx, es)
}

// cancelChange is the Change that marks an order's deadline cancelled, unless
// it is final already.
func cancelChange(orderID string) store.Change[struct{}] {
	return store.Change[struct{}]{
		Keys: []string{scheduleKey(orderID)},
		Decide: func(r store.Read) (struct{}, store.Effect, error) {
			it := r.Item(scheduleKey(orderID))
			sc := schedule{OrderID: orderID}
			if it.Found() {
				if err := it.Decode(&sc); err != nil {
					return struct{}{}, store.Effect{}, err
				}
				if sc.final() {
					return struct{}{}, store.Effect{}, nil
				}
			}
			sc.Status = statusCancelled
			return struct{}{}, store.Effect{Ops: []store.Op{writeOp(sc, it.ETag)}}, nil
		},
	}
}

// notFired is fireChange's result for an order that was final already.
const notFired time.Duration = -1

// fireChange is the Change that marks an order fired and publishes
// expiration:complete, in one commit: the event cannot be lost, nor published
// without the mark. A final order is left alone (cancelled first, or a
// repeated firing). Its result is how late the firing is (notFired if none).
func (s *scheduler) fireChange(orderID string) store.Change[time.Duration] {
	return store.Change[time.Duration]{
		Keys: []string{scheduleKey(orderID)},
		Decide: func(r store.Read) (time.Duration, store.Effect, error) {
			it := r.Item(scheduleKey(orderID))
			now := s.now()
			sc := schedule{OrderID: orderID, ExpiresAt: now}
			if it.Found() {
				if err := it.Decode(&sc); err != nil {
					return notFired, store.Effect{}, err
				}
				if sc.final() {
					return notFired, store.Effect{}, nil
				}
			} // else the reminder fired before order:created was applied: fire all the same
			sc.Status, sc.FiredAt = statusFired, now
			return now.Sub(sc.ExpiresAt), store.Effect{
				Ops:    []store.Op{writeOp(sc, it.ETag)},
				Events: []events.Message{events.ExpirationCompleteEvent{OrderID: orderID}.Message()},
			}, nil
		},
	}
}

// fireAll fires the given orders together and records their lateness. It
// fails if any firing could not be saved: the reminder being handled then
// answers with an error, and its failure policy (see reminderRequest) delivers
// it again after REMINDER_RETRY_DELAY, and again, until it succeeds. The
// orders fired meanwhile are final, so a repeated delivery skips them.
func (s *scheduler) fireAll(ctx context.Context, orderIDs []string) error {
	cs := make([]store.Change[time.Duration], len(orderIDs))
	for i, id := range orderIDs {
		cs[i] = s.fireChange(id)
	}
	var failed []error
	lates, errs := store.ApplyAll(ctx, s.db, cs)
	for i, err := range errs {
		switch {
		case err != nil:
			s.log.Warn("expiration could not be committed; the reminder will be retried", "order", orderIDs[i], "err", err)
			failed = append(failed, fmt.Errorf("fire order %s: %w", orderIDs[i], err))
		case lates[i] != notFired:
			s.lateness.observe(lates[i])
			s.log.Info("order expired", "order", orderIDs[i], "late", lates[i].Round(time.Millisecond))
		}
	}
	return errors.Join(failed...)
}

// fire handles an order's own reminder. It must not lose the expiration: see
// fireAll.
func (s *scheduler) fire(ctx context.Context, orderID string) error {
	return s.fireAll(ctx, []string{orderID})
}

// fireSlot handles a slot's reminder, due at the slot's start: it fires each
// of the slot's waiting orders at its own deadline (those due together, in
// one commit), then deletes the slot, whose orders are all final. It answers
// once all are fired, so that if the app dies meanwhile the scheduler
// delivers the reminder again. If any firing could not be saved it fires the
// others all the same, keeps the slot and fails: the reminder is delivered
// again after REMINDER_RETRY_DELAY and fires what is still waiting.
func (s *scheduler) fireSlot(ctx context.Context, id string) error {
	slIt, err := s.db.Get(ctx, slotKey(id))
	if err != nil || !slIt.Found() {
		return err // no slot: fired and deleted already
	}
	var sl slot
	if err := slIt.Decode(&sl); err != nil {
		return err
	}
	keys := make([]string, len(sl.Orders))
	for i, o := range sl.Orders {
		keys[i] = scheduleKey(o)
	}
	items, err := s.db.GetBulk(ctx, keys)
	if err != nil {
		return err
	}
	var waiting []schedule
	for _, it := range items {
		var sc schedule
		if it.Found() && it.Decode(&sc) == nil && sc.Status == statusScheduled {
			waiting = append(waiting, sc)
		}
	}
	slices.SortFunc(waiting, func(a, b schedule) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	var failed []error
	for len(waiting) > 0 {
		if err := s.wait(ctx, waiting[0].ExpiresAt); err != nil {
			return err
		}
		now := s.now()
		n := 1
		for n < len(waiting) && !waiting[n].ExpiresAt.After(now) {
			n++
		}
		ids := make([]string, n)
		for i := range n {
			ids[i] = waiting[i].OrderID
		}
		if err := s.fireAll(ctx, ids); err != nil {
			failed = append(failed, err)
		}
		waiting = waiting[n:]
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	// Every order is final.
	_, err = store.Apply(ctx, s.db, deleteSlotChange(slIt))
	return err
}

// deleteSlotChange is the Change that deletes a slot whose orders were all
// fired, unless it changed since it was read as read: an order that joined
// meanwhile moved its ETag, so the slot stays, and the sweep comes back for
// it.
func deleteSlotChange(read store.Item) store.Change[struct{}] {
	return store.Change[struct{}]{
		Keys: []string{read.Key},
		Decide: func(r store.Read) (struct{}, store.Effect, error) {
			if it := r.Item(read.Key); !it.Found() || it.ETag != read.ETag {
				return struct{}{}, store.Effect{}, nil
			}
			return struct{}{}, store.Effect{Ops: []store.Op{store.Delete(read)}}, nil
		},
	}
}
