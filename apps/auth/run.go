package main

import (
	"context"
	"io"
	"net/http"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// run lists what auth adds to every service's start-up (service.Run): the
// session keys it issues, its store of users, its rate limits, its routes.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	return service.Run(ctx, stdout, cfg.Base, func(app *service.App) (http.Handler, error) {
		keys, err := app.SessionKeys(cfg.SessionTTL)
		if err != nil {
			return nil, err
		}
		db, err := app.Store()
		if err != nil {
			return nil, err
		}
		limits := newLimits(cfg.ClientRate, cfg.ClientBurst, cfg.AccountRate, cfg.AccountBurst)
		return newServer(app.Log, cfg, keys, newUserStore(db), limits), nil
	})
}
