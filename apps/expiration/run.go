package main

import (
	"context"
	"io"
	"net/http"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// run lists what expiration adds to every service's start-up (service.Run):
// its store, the reminders it registers through the sidecar, the sweep of
// overdue slots, its routes (deliveries and the actor protocol).
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	return service.Run(ctx, stdout, cfg.Base, func(app *service.App) (http.Handler, error) {
		db, err := app.Store()
		if err != nil {
			return nil, err
		}
		client, err := app.Sidecar()
		if err != nil {
			return nil, err
		}
		sched := newScheduler(app.Log, db, newReminders(client, cfg.RetryDelay), cfg)
		app.Go(func(ctx context.Context) { sched.sweepEvery(ctx, cfg.SweepInterval, cfg.SweepGrace) })
		return newServer(app.Log, cfg, sched), nil
	})
}
