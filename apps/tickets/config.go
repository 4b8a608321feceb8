package main

import (
	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// config is every setting tickets reads from its environment, with its default.
type config struct {
	service.Base
}

func loadConfig(getenv func(string) string) (config, error) {
	env := service.NewEnv(getenv)
	c := config{
		Base: env.Base("tickets", "3002"),
	}
	return c, env.Err()
}
