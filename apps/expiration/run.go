package main

import (
	"context"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/service"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// run reads top to bottom like a checklist: signals, config, logger, sidecar,
// adapters, outbox relay, server.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := service.NewLogger(stdout, cfg.LogFormat, cfg.LogLevel, "expiration")

	startCtx, cancel := context.WithTimeout(ctx, cfg.SidecarWait)
	defer cancel()
	client, err := sidecar.Connect(startCtx, cfg.DaprGRPCAddr, cfg.DaprHTTPAddr)
	if err != nil {
		return err
	}
	defer client.Close()

	state := sidecar.NewState(cfg.DaprHTTPAddr, cfg.StateStore)
	outbox := sidecar.NewOutbox(state, sidecar.NewPublisher(client, cfg.PubSub), log)
	go outbox.Run(ctx, cfg.RelayInterval, 5*time.Second)

	sched := newScheduler(log, state, outbox, newReminders(client), cfg)
	go sched.sweepEvery(ctx, cfg.SweepInterval, cfg.SweepGrace)
	return service.Serve(ctx, log, cfg.Addr, newServer(log, cfg, sched))
}
