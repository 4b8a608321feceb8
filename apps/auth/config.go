package main

import (
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// config is every setting auth reads from its environment, with its default.
type config struct {
	service.Base
	SessionTTL   time.Duration // SESSION_TTL: how long a session lasts
	BcryptCost   int           // BCRYPT_COST: password hashing work factor
	ClientRate   float64       // AUTH_RATE_PER_SECOND: sign-ups and sign-ins per client per second
	ClientBurst  int           // AUTH_RATE_BURST: ... and how many at once
	AccountRate  float64       // SIGNIN_FAILURES_PER_MINUTE: failed sign-ins per account per minute
	AccountBurst int           // SIGNIN_FAILURES_BURST: ... and how many in a row
}

func loadConfig(getenv func(string) string) (config, error) {
	env := service.NewEnv(getenv)
	c := config{
		Base:         env.Base("auth", "3001"),
		SessionTTL:   env.Duration("SESSION_TTL", "24h"),
		BcryptCost:   env.Int("BCRYPT_COST", "10"),
		ClientRate:   env.Float("AUTH_RATE_PER_SECOND", "20"),
		ClientBurst:  env.Int("AUTH_RATE_BURST", "200"),
		AccountRate:  env.Float("SIGNIN_FAILURES_PER_MINUTE", "10"),
		AccountBurst: env.Int("SIGNIN_FAILURES_BURST", "10"),
	}
	return c, env.Err()
}
