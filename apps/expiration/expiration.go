package main

import (
	"errors"
	"time"
)

// status is where an order's deadline stands.
type status string

const (
	statusScheduled status = "scheduled" // the reminder is registered
	statusFired     status = "fired"     // expiration:complete was committed
	statusCancelled status = "cancelled" // the order was cancelled first: never fire
)

// schedule is what expiration remembers of one order. It outlives the
// reminder, so a late or repeated order:created cannot schedule a second
// expiration, and an order:cancelled that overtakes its order:created leaves a
// tombstone.
type schedule struct {
	OrderID   string    `json:"orderId"`
	ExpiresAt time.Time `json:"expiresAt"`
	Status    status    `json:"status"`
	FiredAt   time.Time `json:"firedAt,omitzero"`
}

// final reports whether nothing more can happen to this order's deadline.
func (s schedule) final() bool { return s.Status == statusFired || s.Status == statusCancelled }

// reminderName is the one reminder an order's actor has; registering it again
// replaces it, so a redelivered order:created cannot create a second one.
const reminderName = "expire"

// retryReminderName prefixes follow-up reminders, registered when a firing
// could not be saved.
const retryReminderName = "expire-retry"

// actorType is the actor type this app hosts: one actor per order id.
const actorType = "OrderExpiration"

var errNotScheduled = errors.New("no deadline to fire")
