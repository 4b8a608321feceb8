package main

import (
	"math"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// config is every setting payments reads from its environment, with its default.
type config struct {
	service.Base
	StripeSecretName        string        // STRIPE_SECRET_NAME: the secret holding Stripe's secret API key
	StripeWebhookSecretName string        // STRIPE_WEBHOOK_SECRET_NAME: the secret Stripe signs webhooks with
	StripeAPIBase           string        // STRIPE_API_BASE: another Stripe API server (stripe-mock); empty for Stripe itself
	TakeoverAfter           time.Duration // PAYMENT_TAKEOVER_AFTER: when an attempt's request counts as gone (its Stripe calls end by then)
	ActionWindow            time.Duration // PAYMENT_ACTION_WINDOW: how long a buyer has to authenticate a payment (3-D Secure)
	ReconcileInterval       time.Duration // PAYMENT_RECONCILE_INTERVAL: how often attempts whose requests are gone are settled
	CallTimeout             time.Duration // CALL_TIMEOUT: the longest a call to another service may take
	FeePercent              float64       // PLATFORM_FEE_PERCENT: the platform's fee on each payment, in percent (to the hundredth)
	PublicURL               string        // PUBLIC_URL: the marketplace's public origin, where Stripe's onboarding sends sellers back
}

// feeBasisPoints is the fee in basis points (10 percent is 1000).
func (c config) feeBasisPoints() int64 { return int64(math.Round(c.FeePercent * 100)) }

func loadConfig(getenv func(string) string) (config, error) {
	env := service.NewEnv(getenv)
	c := config{
		Base:                    env.Base("payments", "3004"),
		StripeSecretName:        env.String("STRIPE_SECRET_NAME", "stripe-secret-key"),
		StripeWebhookSecretName: env.String("STRIPE_WEBHOOK_SECRET_NAME", "stripe-webhook-secret"),
		StripeAPIBase:           env.String("STRIPE_API_BASE", ""),
		TakeoverAfter:           env.Duration("PAYMENT_TAKEOVER_AFTER", "30s"),
		ActionWindow:            env.Duration("PAYMENT_ACTION_WINDOW", "10m"),
		ReconcileInterval:       env.Duration("PAYMENT_RECONCILE_INTERVAL", "5s"),
		CallTimeout:             env.Duration("CALL_TIMEOUT", "5s"),
		FeePercent:              env.Percent("PLATFORM_FEE_PERCENT", "10"),
		PublicURL:               env.String("PUBLIC_URL", "http://localhost:8080"),
	}
	return c, env.Err()
}
