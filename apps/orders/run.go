package main

import (
	"context"
	"io"
	"net/http"

	"github.com/tixmesh/ticketing/apps/pkg/invoke"
	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// run lists what orders adds to every service's start-up (service.Run): the
// session keys it verifies, its store, its routes.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	return service.Run(ctx, stdout, cfg.Base, func(app *service.App) (http.Handler, error) {
		keys, err := app.SessionKeys(0) // orders only verifies sessions
		if err != nil {
			return nil, err
		}
		db, err := app.Store()
		if err != nil {
			return nil, err
		}
		owners := invoke.New(cfg.DaprHTTPAddr, cfg.CallTimeout)
		return newServer(app.Log, cfg, keys, newOrderStore(db, owners, owners, cfg.PaymentLease)), nil
	})
}
