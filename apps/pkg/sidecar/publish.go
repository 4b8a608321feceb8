package sidecar

import (
	"context"
	"fmt"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// Publisher publishes events.
type Publisher interface {
	Publish(ctx context.Context, m events.Message) error
}

// DaprPublisher publishes through the sidecar's pub/sub API.
type DaprPublisher struct {
	client dapr.Client
	pubsub string
}

// NewPublisher returns a publisher on the named pub/sub component.
func NewPublisher(client dapr.Client, pubsub string) *DaprPublisher {
	return &DaprPublisher{client: client, pubsub: pubsub}
}

// Publish sends m with its deterministic id as the CloudEvent id. Dapr would
// otherwise make a new random id per call, and a retried publish would be a new
// message that the broker cannot de-duplicate (JetStream uses the CloudEvent id
// as Nats-Msg-Id).
func (p *DaprPublisher) Publish(ctx context.Context, m events.Message) error {
	err := p.client.PublishEvent(ctx, p.pubsub, string(m.Topic), m.Data,
		dapr.PublishEventWithMetadata(map[string]string{"cloudevent.id": m.ID}))
	if err != nil {
		return fmt.Errorf("%w: publish %s: %v", ErrUnavailable, m.ID, err)
	}
	return nil
}
