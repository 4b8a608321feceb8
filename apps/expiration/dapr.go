package main

import (
	"context"
	"fmt"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// Keys of expiration's own store: one schedule per order, one record per slot.
func scheduleKey(orderID string) string { return "expiration|" + orderID }
func slotKey(id string) string          { return "slot|" + id }

func writeOp(sc schedule, etag string) store.Op {
	return store.Op{Key: scheduleKey(sc.OrderID), Value: sc, ETag: etag, Create: etag == ""}
}

// reminders registers and removes actor reminders through the sidecar; the
// Dapr scheduler keeps them.
type reminders interface {
	register(ctx context.Context, actor, id, name string, due time.Time) error
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
