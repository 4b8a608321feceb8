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

// stripeRetries is how often stripe-go retries a charge that failed on the
// network or with a 5xx, with the same idempotency key.
const stripeRetries = 2

// run reads top to bottom like a checklist: signals, config, logger, sidecar,
// secrets, adapters, outbox relay, server.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := service.NewLogger(stdout, cfg.LogFormat, cfg.LogLevel, "payments")

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
	// Payments only verifies sessions; the TTL matters to the issuer (auth).
	keys, err := auth.NewKeys([]byte(key), 0)
	if err != nil {
		return fmt.Errorf("secret %q: %w", cfg.JWTSecretName, err)
	}
	stripeKey, err := sidecar.Secret(startCtx, client, cfg.SecretStore, cfg.StripeSecretName)
	if err != nil {
		return err
	}
	webhookSecret, err := sidecar.Secret(startCtx, client, cfg.SecretStore, cfg.StripeWebhookSecretName)
	if err != nil {
		return err
	}

	state := sidecar.NewState(cfg.DaprHTTPAddr, cfg.StateStore)
	outbox := sidecar.NewOutbox(state, sidecar.NewPublisher(client, cfg.PubSub), log)
	relayCtx, stopRelay := context.WithCancel(ctx)
	var relay sync.WaitGroup
	relay.Go(func() { outbox.Run(relayCtx, cfg.OutboxRelayInterval, outboxMinAge) })
	// Stop the relay and let it flush its last deletions before the client closes.
	defer relay.Wait()
	defer stopRelay()

	payments := newPaymentStore(state, outbox)
	payments.orderWait = cfg.OrderWait
	charges := newStripeCharger(log, stripeKey, cfg.StripeAPIBase, stripeRetries)
	h := newServer(log, cfg, keys, payments, charges, webhookSecret)
	go reconcileEvery(ctx, log, cfg, payments, charges)
	return service.Serve(ctx, log, cfg.Addr, h)
}
