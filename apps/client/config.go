package main

import (
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// config is every setting the client reads from its environment, with its default.
type config struct {
	service.Base
	CallTimeout     time.Duration // CLIENT_CALL_TIMEOUT: the longest one call to a service may take
	PageSize        int           // TICKETS_PER_PAGE: tickets on one page of the landing page
	StripePublicKey string        // STRIPE_PUBLISHABLE_KEY: pays with Stripe's Payment Element; unset is test mode
}

func loadConfig(getenv func(string) string) (config, error) {
	env := service.NewEnv(getenv)
	c := config{
		Base:            env.Base("client", "3000"),
		CallTimeout:     env.Duration("CLIENT_CALL_TIMEOUT", "3s"),
		PageSize:        env.Int("TICKETS_PER_PAGE", "20"),
		StripePublicKey: env.String("STRIPE_PUBLISHABLE_KEY", ""),
	}
	return c, env.Err()
}
