package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// scheduleStore keeps one schedule per order in expiration's own store, and
// commits a firing together with its event through the outbox.
type scheduleStore struct {
	state  sidecar.State
	outbox *sidecar.Outbox
}

func newScheduleStore(state sidecar.State, outbox *sidecar.Outbox) *scheduleStore {
	return &scheduleStore{state: state, outbox: outbox}
}

func scheduleKey(orderID string) string { return "expiration|" + orderID }

// get returns the order's schedule and its ETag ("" and found=false if none).
func (s *scheduleStore) get(ctx context.Context, orderID string) (sc schedule, etag string, found bool, err error) {
	it, err := s.state.Get(ctx, scheduleKey(orderID))
	if err != nil || !it.Found() {
		return schedule{}, "", false, err
	}
	return sc, it.ETag, true, it.Decode(&sc)
}

// put writes sc, asserting etag (or, with etag "", that none exists yet).
func (s *scheduleStore) put(ctx context.Context, sc schedule, etag string) error {
	return s.state.Transact(ctx, writeOp(sc, etag))
}

// fire marks the schedule fired and publishes expiration:complete, in one
// commit: the event cannot be lost, nor published without the mark.
func (s *scheduleStore) fire(ctx context.Context, sc schedule, etag string) error {
	return s.outbox.Commit(ctx, []sidecar.Op{writeOp(sc, etag)},
		events.ExpirationCompleteEvent{OrderID: sc.OrderID}.Message())
}

func writeOp(sc schedule, etag string) sidecar.Op {
	return sidecar.Op{Key: scheduleKey(sc.OrderID), Value: sc, ETag: etag, Create: etag == ""}
}

// reminders registers and removes the per-order actor reminders through the
// sidecar; the Dapr scheduler keeps them.
type reminders interface {
	register(ctx context.Context, orderID, name string, due time.Time) error
	unregister(ctx context.Context, orderID, name string) error
}

type daprReminders struct{ client dapr.Client }

func newReminders(client dapr.Client) *daprReminders { return &daprReminders{client: client} }

// register schedules a one-shot reminder at due. The due time is absolute
// (RFC 3339), so how late the event was delivered does not move the deadline.
func (r *daprReminders) register(ctx context.Context, orderID, name string, due time.Time) error {
	err := r.client.RegisterActorReminder(ctx, &dapr.RegisterActorReminderRequest{
		ActorType: actorType,
		ActorID:   orderID,
		Name:      name,
		DueTime:   due.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return fmt.Errorf("%w: register reminder %s for order %s: %v", sidecar.ErrUnavailable, name, orderID, err)
	}
	return nil
}

func (r *daprReminders) unregister(ctx context.Context, orderID, name string) error {
	err := r.client.UnregisterActorReminder(ctx, &dapr.UnregisterActorReminderRequest{
		ActorType: actorType, ActorID: orderID, Name: name,
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("%w: unregister reminder %s for order %s: %v", sidecar.ErrUnavailable, name, orderID, err)
	}
	return nil
}

func isNotFound(err error) bool {
	return err != nil && (strings.Contains(strings.ToLower(err.Error()), "not found") || errors.Is(err, errNotScheduled))
}
