package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// schedule registers the order's reminder at its expiresAt (the order says
// when, not "now + a constant"), then remembers it. Registering first means a
// crash in between leaves a reminder and no record, which a redelivery repairs
// (registering again replaces the same reminder); never a record without a
// reminder, which would leave the ticket locked.
func (s *scheduler) schedule(ctx context.Context, orderID string, expiresAt time.Time) error {
	for range attempts {
		sc, etag, found, err := s.store.get(ctx, orderID)
		if err != nil {
			return err
		}
		if found {
			// A duplicate (scheduled), an order cancelled before its creation
			// reached us (cancelled), or a late redelivery after firing (fired):
			// nothing to schedule, in every case.
			return nil
		}
		if err := s.reminders.register(ctx, orderID, reminderName, expiresAt); err != nil {
			return err
		}
		err = s.store.put(ctx, schedule{OrderID: orderID, ExpiresAt: expiresAt, Status: statusScheduled}, etag)
		if !errors.Is(err, sidecar.ErrConflict) {
			return err
		}
		// Someone wrote first (a concurrent cancellation or duplicate): look again.
		sc, _, _, err = s.store.get(ctx, orderID)
		if err != nil {
			return err
		}
		if sc.Status == statusCancelled {
			return s.reminders.unregister(ctx, orderID, reminderName)
		}
		return nil
	}
	return fmt.Errorf("schedule order %s: %w", orderID, sidecar.ErrConflict)
}

// cancel forgets the order's deadline: the reminder is removed and a tombstone
// stops a late order:created from scheduling it again.
func (s *scheduler) cancel(ctx context.Context, orderID string) error {
	for range attempts {
		sc, etag, found, err := s.store.get(ctx, orderID)
		if err != nil {
			return err
		}
		if found && sc.final() {
			return nil
		}
		if err := s.reminders.unregister(ctx, orderID, reminderName); err != nil {
			return err
		}
		if !found {
			sc = schedule{OrderID: orderID}
		}
		sc.Status = statusCancelled
		err = s.store.put(ctx, sc, etag)
		if !errors.Is(err, sidecar.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("cancel order %s: %w", orderID, sidecar.ErrConflict)
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

// onOrderCreated schedules the order's deadline.
// SUCCESS once scheduled (or nothing to do); RETRY if the sidecar or store
// failed; DROP a payload that does not decode.
func (s *scheduler) onOrderCreated(ctx context.Context, e sidecar.Event) error {
	ev, err := sidecar.DecodeData[events.OrderCreatedEvent](e)
	if err != nil {
		return err
	}
	if ev.ID == "" || ev.ExpiresAt.IsZero() {
		return sidecar.Drop(fmt.Errorf("order:created %s without id or expiresAt", e.ID))
	}
	return s.schedule(ctx, ev.ID, ev.ExpiresAt)
}

// onOrderCancelled unregisters the order's reminder.
// SUCCESS once forgotten; RETRY if the sidecar or store failed; DROP a payload
// that does not decode.
func (s *scheduler) onOrderCancelled(ctx context.Context, e sidecar.Event) error {
	ev, err := sidecar.DecodeData[events.OrderCancelledEvent](e)
	if err != nil {
		return err
	}
	if ev.ID == "" {
		return sidecar.Drop(fmt.Errorf("order:cancelled %s without id", e.ID))
	}
	return s.cancel(ctx, ev.ID)
}
