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

type daprReminders struct {
	client dapr.Client
	retry  time.Duration
}

// newReminders registers reminders whose failed deliveries are retried every
// retry, for ever.
func newReminders(client dapr.Client, retry time.Duration) *daprReminders {
	return &daprReminders{client: client, retry: retry}
}

// register schedules a one-shot reminder at due. The due time is absolute
// (RFC 3339), so how late the event was delivered does not move the deadline.
func (r *daprReminders) register(ctx context.Context, actor, id, name string, due time.Time) error {
	err := r.client.RegisterActorReminder(ctx, reminderRequest(actor, id, name, due, r.retry))
	if err != nil {
		return fmt.Errorf("%w: register reminder %s/%s/%s: %v", sidecar.ErrUnavailable, actor, id, name, err)
	}
	return nil
}

// reminderRequest is a one-shot reminder at due whose delivery, when the app
// answers with an error (or cannot be reached), is retried every retry until
// it succeeds: a constant failure policy with no limit (Dapr 1.17+, over gRPC
// only; the HTTP API ignores failure_policy). Without one, the scheduler
// drops the reminder after four failed deliveries (1 + 3 retries, 1 s apart),
// which would leave the order's ticket locked; with it, the reminder's own
// retries replace the follow-up reminders expiration used to register itself.
// The interval must not be zero: the scheduler would retry in a hot loop.
func reminderRequest(actor, id, name string, due time.Time, retry time.Duration) *dapr.RegisterActorReminderRequest {
	return &dapr.RegisterActorReminderRequest{
		ActorType:     actor,
		ActorID:       id,
		Name:          name,
		DueTime:       due.UTC().Format(time.RFC3339Nano),
		FailurePolicy: &dapr.JobFailurePolicyConstant{Interval: &retry, MaxRetries: nil},
	}
}
