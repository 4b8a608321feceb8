package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// Keys of expiration's own store: one schedule per order, one record per slot.
func scheduleKey(orderID string) string { return "expiration|" + orderID }
func slotKey(id string) string          { return "slot|" + id }

func writeOp(sc schedule, etag string) sidecar.Op {
	return sidecar.Op{Key: scheduleKey(sc.OrderID), Value: sc, ETag: etag, Create: etag == ""}
}

// reminders registers and removes actor reminders through the sidecar; the
// Dapr scheduler keeps them.
type reminders interface {
	register(ctx context.Context, actor, id, name string, due time.Time) error
	unregister(ctx context.Context, actor, id, name string) error
}

type daprReminders struct{ client dapr.Client }

func newReminders(client dapr.Client) *daprReminders { return &daprReminders{client: client} }

// register schedules a one-shot reminder at due. The due time is absolute
// (RFC 3339), so how late the event was delivered does not move the deadline.
func (r *daprReminders) register(ctx context.Context, actor, id, name string, due time.Time) error {
	err := r.client.RegisterActorReminder(ctx, &dapr.RegisterActorReminderRequest{
		ActorType: actor,
		ActorID:   id,
		Name:      name,
		DueTime:   due.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return fmt.Errorf("%w: register reminder %s/%s/%s: %v", sidecar.ErrUnavailable, actor, id, name, err)
	}
	return nil
}

func (r *daprReminders) unregister(ctx context.Context, actor, id, name string) error {
	err := r.client.UnregisterActorReminder(ctx, &dapr.UnregisterActorReminderRequest{
		ActorType: actor, ActorID: id, Name: name,
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("%w: unregister reminder %s/%s/%s: %v", sidecar.ErrUnavailable, actor, id, name, err)
	}
	return nil
}

func isNotFound(err error) bool {
	return err != nil && (strings.Contains(strings.ToLower(err.Error()), "not found") || errors.Is(err, errNotScheduled))
}
