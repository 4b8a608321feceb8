package main

import (
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// config is every setting payments reads from its environment, with its default.
type config struct {
	service.Base
	StripeSecretName        string        // STRIPE_SECRET_NAME: the secret holding Stripe's secret API key
	StripeWebhookSecretName string        // STRIPE_WEBHOOK_SECRET_NAME: the secret Stripe signs webhooks with
	StripeAPIBase           string        // STRIPE_API_BASE: another Stripe API server (stripe-mock); empty for Stripe itself
	TakeoverAfter           time.Duration // PAYMENT_TAKEOVER_AFTER: when a pending payment counts as abandoned
	ReconcileInterval       time.Duration // PAYMENT_RECONCILE_INTERVAL: how often abandoned (pending too long) payments are settled
	OrderWait               time.Duration // PAYMENT_ORDER_WAIT: how long a payment waits for an order payments has not heard of yet
}

func loadConfig(getenv func(string) string) (config, error) {
	env := service.NewEnv(getenv)
	c := config{
		Base:                    env.Base("payments", "3004"),
		StripeSecretName:        env.String("STRIPE_SECRET_NAME", "stripe-secret-key"),
		StripeWebhookSecretName: env.String("STRIPE_WEBHOOK_SECRET_NAME", "stripe-webhook-secret"),
		StripeAPIBase:           env.String("STRIPE_API_BASE", ""),
		TakeoverAfter:           env.Duration("PAYMENT_TAKEOVER_AFTER", "30s"),
		OrderWait:               env.Duration("PAYMENT_ORDER_WAIT", "2s"),
		ReconcileInterval:       env.Duration("PAYMENT_RECONCILE_INTERVAL", "5s"),
	}
	return c, env.Err()
}
