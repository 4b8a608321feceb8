// Package events is the contract between the services: the topics, who
// publishes and who listens, and the payload of each. It depends on the
// standard library only. Golden files in testdata/ make any change to a payload
// visible in review.
//
// Subjects and payloads are the original system's, so its services and ours
// could share a bus. Every event has a deterministic id (topic, aggregate,
// version), so a publish that is retried, or relayed again after a crash, is
// the same message: the broker's de-duplication and the handlers' version
// checks both see it as one.
package events

import (
	"fmt"
	"strings"
)

// Topic names a stream of events.
type Topic string

const (
	TicketCreated      Topic = "ticket:created"      // tickets -> orders
	TicketUpdated      Topic = "ticket:updated"      // tickets -> orders
	OrderCreated       Topic = "order:created"       // orders -> tickets, payments, expiration
	OrderCancelled     Topic = "order:cancelled"     // orders -> tickets, payments, expiration
	ExpirationComplete Topic = "expiration:complete" // expiration -> orders
	PaymentCreated     Topic = "payment:created"     // payments -> orders
)

// Route is where a sidecar delivers the topic to a subscribing app:
// /events/order-created for order:created. components/subscriptions names
// the same routes.
func (t Topic) Route() string { return "/events/" + strings.ReplaceAll(string(t), ":", "-") }

// Topics lists every topic; the platform provisions a stream subject for each.
var Topics = []Topic{TicketCreated, TicketUpdated, OrderCreated, OrderCancelled, ExpirationComplete, PaymentCreated}

// PubSub is the name of the pub/sub component every service publishes through.
// Which broker it is lives in components/, never in code.
const PubSub = "pubsub"

// Message is an event ready to publish: its id, topic and payload, and the
// W3C trace context of the work that caused it, which travels with it (the
// CloudEvent's traceparent) so that the deliveries it causes join that trace.
type Message struct {
	ID          string `json:"id"`
	Topic       Topic  `json:"topic"`
	Data        any    `json:"data"`
	TraceParent string `json:"traceparent,omitempty"`
}

func id(t Topic, aggregate string, version int64) string {
	return fmt.Sprintf("%s/%s/%d", t, aggregate, version)
}
