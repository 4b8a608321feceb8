package main

import (
	"fmt"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// config is every setting expiration reads from its environment.
type config struct {
	service.Base
	RetryDelay    time.Duration // REMINDER_RETRY_DELAY: a reminder whose firing failed is delivered again this much later, for ever
	SweepInterval time.Duration // SWEEP_INTERVAL: how often overdue schedules are looked for (lost reminders)
	SweepGrace    time.Duration // SWEEP_GRACE: how far past its end a slot counts as overdue
	SlotWidth     time.Duration // EXPIRATION_SLOT: the span of deadlines one slot actor (one reminder) fires
}

func loadConfig(getenv func(string) string) (config, error) {
	env := service.NewEnv(getenv)
	c := config{
		Base:          env.Base("expiration", "3005"),
		RetryDelay:    env.Duration("REMINDER_RETRY_DELAY", "5s"),
		SweepInterval: env.Duration("SWEEP_INTERVAL", "5s"),
		SweepGrace:    env.Duration("SWEEP_GRACE", "5s"),
		SlotWidth:     env.Duration("EXPIRATION_SLOT", "1s"),
	}
	if c.RetryDelay < 10*time.Millisecond { // zero would make the scheduler retry in a hot loop
		return c, fmt.Errorf("REMINDER_RETRY_DELAY=%s: want at least 10ms", c.RetryDelay)
	}
	if c.SlotWidth < time.Millisecond {
		return c, fmt.Errorf("EXPIRATION_SLOT=%s: want at least 1ms", c.SlotWidth)
	}
	return c, env.Err()
}
