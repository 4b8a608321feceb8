package main

import (
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// config is every setting orders reads from its environment, with its default.
type config struct {
	service.Base
	StateStore          string        // STATE_STORE: orders' own state store component
	SecretStore         string        // SECRET_STORE: the secret store component
	JWTSecretName       string        // JWT_SECRET_NAME: the secret holding the signing key
	PubSub              string        // PUBSUB: the pub/sub component events are published through
	ExpirationWindow    time.Duration // ORDER_EXPIRATION_WINDOW: how long an order holds its ticket unpaid
	TicketWait          time.Duration // ORDER_TICKET_WAIT: how long an order waits for a ticket orders has not heard of yet
	OutboxRelayInterval time.Duration // OUTBOX_RELAY_INTERVAL: how often unpublished events are looked for
}

func loadConfig(getenv func(string) string) (config, error) {
	env := service.NewEnv(getenv)
	c := config{
		Base:                env.Base("3003"),
		StateStore:          env.String("STATE_STORE", "orders-store"),
		SecretStore:         env.String("SECRET_STORE", "secretstore"),
		JWTSecretName:       env.String("JWT_SECRET_NAME", "jwt-key"),
		PubSub:              env.String("PUBSUB", events.PubSub),
		ExpirationWindow:    env.Duration("ORDER_EXPIRATION_WINDOW", "15m"),
		TicketWait:          env.Duration("ORDER_TICKET_WAIT", "2s"),
		OutboxRelayInterval: env.Duration("OUTBOX_RELAY_INTERVAL", "2s"),
	}
	return c, env.Err()
}
