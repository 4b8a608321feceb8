package main

import (
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// config is every setting tickets reads from its environment, with its default.
type config struct {
	service.Base
	HoldSweepInterval time.Duration // HOLD_SWEEP_INTERVAL: how often reservations for orders never made are looked for
	HoldGrace         time.Duration // HOLD_GRACE: how old a reservation without its order:created must be to be looked at
	CallTimeout       time.Duration // CALL_TIMEOUT: the longest a call to another service may take
}

func loadConfig(getenv func(string) string) (config, error) {
	env := service.NewEnv(getenv)
	c := config{
		Base:              env.Base("tickets", "3002"),
		HoldSweepInterval: env.Duration("HOLD_SWEEP_INTERVAL", "10s"),
		HoldGrace:         env.Duration("HOLD_GRACE", "30s"),
		CallTimeout:       env.Duration("CALL_TIMEOUT", "5s"),
	}
	return c, env.Err()
}
