package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/service"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// run reads top to bottom like a checklist: signals, config, logger, sidecar,
// secrets, adapters, server.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := service.NewLogger(stdout, cfg.LogFormat, cfg.LogLevel, "auth")

	startCtx, cancel := context.WithTimeout(ctx, cfg.SidecarWait)
	defer cancel()
	client, err := sidecar.Connect(startCtx, cfg.DaprGRPCAddr, cfg.DaprHTTPAddr)
	if err != nil {
		return err
	}
	defer client.Close()

	key, err := sidecar.Secret(startCtx, client, cfg.SecretStore, cfg.JWTSecretName)
	if err != nil {
		return err
	}
	keys, err := auth.NewKeys([]byte(key), cfg.SessionTTL)
	if err != nil {
		return fmt.Errorf("secret %q: %w", cfg.JWTSecretName, err)
	}

	users := newUserStore(sidecar.NewState(cfg.DaprHTTPAddr, cfg.StateStore))
	limits := newLimits(cfg.ClientRate, cfg.ClientBurst, cfg.AccountRate, cfg.AccountBurst)
	h := newServer(log, cfg, keys, users, limits)
	return service.Serve(ctx, log, cfg.Addr, h)
}
