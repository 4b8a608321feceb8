package baseline

import (
	"fmt"
	"strings"
	"time"
)

// The topics the workload uses, spelled as the services' events package spells
// them. Each is published on its own subject under baseline.>, so the
// baseline's stream never overlaps the mesh's TICKETING stream.
const (
	ticketCreated = "ticket:created"
	ticketUpdated = "ticket:updated"
	orderCreated  = "order:created"
)

// streamName is the baseline's own JetStream stream; subjectPrefix scopes its
// subjects.
const (
	streamName    = "BASELINE"
	subjectPrefix = "baseline."
)

// subject is where a topic is published: baseline.order-created.
func subject(topic string) string { return subjectPrefix + strings.ReplaceAll(topic, ":", "-") }

// eventID is an event's deterministic id (topic, aggregate, version), sent as
// Nats-Msg-Id exactly like the mesh's event ids, so a republished event is
// de-duplicated by the broker.
func eventID(topic, aggregate string, version int64) string {
	return fmt.Sprintf("%s/%s/%d", topic, aggregate, version)
}

// ticketEvent is the payload of ticket:created and ticket:updated (the
// services' events.Ticket).
type ticketEvent struct {
	ID      string  `json:"id"`
	Version int64   `json:"version"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	UserID  string  `json:"userId"`
	OrderID string  `json:"orderId,omitempty"`
}

// orderEvent is the payload of order:created (the services'
// events.OrderCreatedEvent).
type orderEvent struct {
	ID        string    `json:"id"`
	Version   int64     `json:"version"`
	Status    string    `json:"status"`
	UserID    string    `json:"userId"`
	ExpiresAt time.Time `json:"expiresAt"`
	Ticket    struct {
		ID    string  `json:"id"`
		Price float64 `json:"price,omitempty"`
	} `json:"ticket"`
}
