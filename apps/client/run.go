package main

import (
	"context"
	"io"
	"os/signal"
	"syscall"

	"github.com/tixmesh/ticketing/apps/pkg/service"
)

// run reads top to bottom like a checklist: signals, config, logger, views,
// the sidecar's services, server. It does not wait for the sidecar: /readyz
// says when it is there, and a page whose service does not answer says which.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := service.NewLogger(stdout, cfg.LogFormat, cfg.LogLevel, "client")

	v, err := newViews(log, cfg.StripePublicKey)
	if err != nil {
		return err
	}
	svc := newServices("http://"+cfg.DaprHTTPAddr, cfg.CallTimeout)
	h := newServer(log, cfg, v, svc)
	return service.Serve(ctx, log, cfg.Addr, h)
}
