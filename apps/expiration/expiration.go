package main

import (
	"strconv"
	"time"
)

// status is where an order's deadline stands.
type status string

const (
	statusScheduled status = "scheduled" // waiting for its deadline
	statusFired     status = "fired"     // expiration:complete was committed
	statusCancelled status = "cancelled" // the order was cancelled first: never fire
)

// schedule is what expiration remembers of one order. It outlives the
// firing, so a late or repeated order:created cannot schedule a second
// expiration, and an order:cancelled that overtakes its order:created leaves a
// tombstone.
type schedule struct {
	OrderID   string    `json:"orderId"`
	ExpiresAt time.Time `json:"expiresAt"`
	Status    status    `json:"status"`
	FiredAt   time.Time `json:"firedAt,omitzero"`
	// Slot is the slot the order's deadline falls in (see slot).
	Slot string `json:"slot,omitempty"`
}

// final reports whether nothing more can happen to this order's deadline.
func (s schedule) final() bool { return s.Status == statusFired || s.Status == statusCancelled }

// A slot is a span of time (slotWidth long) and the orders whose deadlines
// fall in it. Each slot is an actor (ExpirationSlot/<id>) with one reminder,
// due at the slot's start: when it fires, the actor fires each of its orders
// at the order's own deadline, within the slot. So the Dapr scheduler keeps
// one reminder per slot rather than one per order, and an order still expires
// milliseconds after its deadline, not up to a slot later.
type slot struct {
	Kind   string    `json:"kind"` // slotKind, for the sweep's query
	ID     string    `json:"id"`
	Start  time.Time `json:"start"`
	Orders []string  `json:"orders"`
	Done   bool      `json:"done"` // every order of the slot is final
}

const slotKind = "slot"

// slotOf names the slot a deadline falls in: its start, in Unix milliseconds.
func slotOf(deadline time.Time, width time.Duration) (id string, start time.Time) {
	start = deadline.Truncate(width)
	return strconv.FormatInt(start.UnixMilli(), 10), start
}

// with adds orderID to the slot; changed is false if it was there.
func (s slot) with(orderID string) (_ slot, changed bool) {
	for _, id := range s.Orders {
		if id == orderID {
			return s, false
		}
	}
	s.Orders = append(append([]string(nil), s.Orders...), orderID)
	return s, true
}

// The actor types this app hosts.
const (
	// slotActor is one actor per slot; its reminder is slotReminder.
	slotActor    = "ExpirationSlot"
	slotReminder = "due"
	// orderActor is one actor per order, for a deadline whose slot has
	// already begun (a late delivery, a window shorter than a slot). (Before
	// reminders had failure policies, it also took follow-up reminders named
	// expire-retry-<n> for a firing that could not be saved; any left in a
	// scheduler are handled like orderReminder.)
	orderActor    = "OrderExpiration"
	orderReminder = "expire"
)
