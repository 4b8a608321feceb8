package main

import (
	"context"
	"io"
	"net/http"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// run lists what the client adds to every service's start-up (service.Run):
// its views, the services it reads through its sidecar, its routes. It does
// not wait for the sidecar: /readyz says when it is there, and a page whose
// service does not answer says which.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	return service.Run(ctx, stdout, cfg.Base, func(app *service.App) (http.Handler, error) {
		v, err := newViews(app.Log, cfg.StripePublicKey)
		if err != nil {
			return nil, err
		}
		svc := newServices("http://"+cfg.DaprHTTPAddr, cfg.CallTimeout)
		return newServer(app.Log, cfg, v, svc), nil
	})
}
