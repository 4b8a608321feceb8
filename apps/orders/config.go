package main

import (
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// config is every setting orders reads from its environment, with its default.
type config struct {
	service.Base
	ExpirationWindow time.Duration // ORDER_EXPIRATION_WINDOW: how long an order holds its ticket unpaid
	TicketWait       time.Duration // ORDER_TICKET_WAIT: how long an order waits for a ticket orders has not heard of yet
}

func loadConfig(getenv func(string) string) (config, error) {
	env := service.NewEnv(getenv)
	c := config{
		Base:             env.Base("orders", "3003"),
		ExpirationWindow: env.Duration("ORDER_EXPIRATION_WINDOW", "15m"),
		TicketWait:       env.Duration("ORDER_TICKET_WAIT", "2s"),
	}
	return c, env.Err()
}
