package main

import (
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// config is every setting payments reads from its environment, with its default.
type config struct {
	service.Base
	StateStore              string        // STATE_STORE: payments' own state store component
	SecretStore             string        // SECRET_STORE: the secret store component
	JWTSecretName           string        // JWT_SECRET_NAME: the secret holding the session signing key
	StripeSecretName        string        // STRIPE_SECRET_NAME: the secret holding Stripe's secret API key
	StripeWebhookSecretName string        // STRIPE_WEBHOOK_SECRET_NAME: the secret Stripe signs webhooks with
	StripeAPIBase           string        // STRIPE_API_BASE: another Stripe API server (stripe-mock); empty for Stripe itself
	PubSub                  string        // PUBSUB: the pub/sub component events are published through
	TakeoverAfter           time.Duration // PAYMENT_TAKEOVER_AFTER: when a pending payment counts as abandoned
	ReconcileInterval       time.Duration // PAYMENT_RECONCILE_INTERVAL: how often abandoned (pending too long) payments are settled
	OrderWait               time.Duration // PAYMENT_ORDER_WAIT: how long a payment waits for an order payments has not heard of yet
	OutboxRelayInterval     time.Duration // OUTBOX_RELAY_INTERVAL: how often unpublished events are looked for
}

func loadConfig(getenv func(string) string) (config, error) {
	env := service.NewEnv(getenv)
	c := config{
		Base:                    env.Base("3004"),
		StateStore:              env.String("STATE_STORE", "payments-store"),
		SecretStore:             env.String("SECRET_STORE", "secretstore"),
		JWTSecretName:           env.String("JWT_SECRET_NAME", "jwt-key"),
		StripeSecretName:        env.String("STRIPE_SECRET_NAME", "stripe-secret-key"),
		StripeWebhookSecretName: env.String("STRIPE_WEBHOOK_SECRET_NAME", "stripe-webhook-secret"),
		StripeAPIBase:           env.String("STRIPE_API_BASE", ""),
		PubSub:                  env.String("PUBSUB", events.PubSub),
		TakeoverAfter:           env.Duration("PAYMENT_TAKEOVER_AFTER", "30s"),
		OrderWait:               env.Duration("PAYMENT_ORDER_WAIT", "2s"),
		ReconcileInterval:       env.Duration("PAYMENT_RECONCILE_INTERVAL", "5s"),
		OutboxRelayInterval:     env.Duration("OUTBOX_RELAY_INTERVAL", "2s"),
	}
	return c, env.Err()
}
