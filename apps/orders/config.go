package main

import (
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// config is every setting orders reads from its environment, with its default.
type config struct {
	service.Base
	ExpirationWindow time.Duration // ORDER_EXPIRATION_WINDOW: how long an order holds its ticket unpaid
	PaymentLease     time.Duration // ORDER_PAYMENT_LEASE: how long an order awaits one payment attempt before orders asks payments how it ended
	CallTimeout      time.Duration // CALL_TIMEOUT: the longest a call to another service may take
}

func loadConfig(getenv func(string) string) (config, error) {
	env := service.NewEnv(getenv)
	c := config{
		Base:             env.Base("orders", "3003"),
		ExpirationWindow: env.Duration("ORDER_EXPIRATION_WINDOW", "15m"),
		PaymentLease:     env.Duration("ORDER_PAYMENT_LEASE", "45s"),
		CallTimeout:      env.Duration("CALL_TIMEOUT", "5s"),
	}
	return c, env.Err()
}
