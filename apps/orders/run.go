package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/service"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// outboxMinAge is how old an unpublished event must be before the relay
// publishes it: younger ones are probably being published by Commit itself.
const outboxMinAge = 5 * time.Second

// placeBatch caps how many orders one transaction places.
const placeBatch = 64

// run reads top to bottom like a checklist: signals, config, logger, sidecar,
// secrets, adapters, outbox relay, server.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := service.NewLogger(stdout, cfg.LogFormat, cfg.LogLevel, "orders")

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
	// Orders only verifies sessions; the TTL matters to the issuer (auth).
	keys, err := auth.NewKeys([]byte(key), 0)
	if err != nil {
		return fmt.Errorf("secret %q: %w", cfg.JWTSecretName, err)
	}

	state := sidecar.NewState(cfg.DaprHTTPAddr, cfg.StateStore)
	outbox := sidecar.NewOutbox(state, sidecar.NewPublisher(client, cfg.PubSub), log)
	relayCtx, stopRelay := context.WithCancel(ctx)
	var relay sync.WaitGroup
	relay.Go(func() { outbox.Run(relayCtx, cfg.OutboxRelayInterval, outboxMinAge) })
	// Stop the relay and let it flush its last deletions before the client closes.
	defer relay.Wait()
	defer stopRelay()

	orders := newOrderStore(state, outbox)
	orders.ticketWait = cfg.TicketWait
	// Concurrent orders share one read, one transaction and one publish. The
	// batcher stops after the server (deferred later, runs first).
	orders.places = sidecar.NewBatcher(outbox, placeBatch)
	batchCtx, stopBatches := context.WithCancel(context.WithoutCancel(ctx))
	var batches sync.WaitGroup
	batches.Go(func() { orders.places.Run(batchCtx) })
	defer batches.Wait()
	defer stopBatches()
	h := newServer(log, cfg, keys, orders)
	return service.Serve(ctx, log, cfg.Addr, h)
}
