package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/signal"
	"sync"
	"syscall"
	"time"

	dapr "github.com/dapr/go-sdk/client"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// App is a service while it runs: its logger, and the parts every service
// makes the same way (its sidecar connection, secrets, session keys, store,
// background loops). Its methods start what they make; Run stops all of it.
type App struct {
	Log  *slog.Logger
	base Base
	// ctx ends with a signal; background ends after the server has stopped.
	ctx        context.Context
	background context.Context
	stop       context.CancelFunc
	loops      sync.WaitGroup
	client     dapr.Client
}

// Run is every service's life: it listens for SIGINT and SIGTERM, makes the
// logger, lets setup wire the service's own parts on the App and return its
// handler, and serves that until a signal. Then it stops in order: the server
// (in-flight requests finish), the background work setup started (each loop
// waited for: the store publishes what it committed), the sidecar connection.
func Run(ctx context.Context, stdout io.Writer, base Base, setup func(app *App) (http.Handler, error)) error {
	ctx, stopSignals := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()
	app := &App{Log: NewLogger(stdout, base.LogFormat, base.LogLevel, base.Name), base: base, ctx: ctx}
	app.background, app.stop = context.WithCancel(context.WithoutCancel(ctx))
	defer app.close()
	h, err := setup(app)
	if err != nil {
		return err
	}
	if base.ProfileAddr != "" {
		app.Go(func(ctx context.Context) { serveProfiles(ctx, app.Log, base.ProfileAddr) })
	}
	return Serve(ctx, app.Log, base.Addr, h)
}

func (a *App) close() {
	a.stop()
	a.loops.Wait()
	if a.client != nil {
		a.client.Close()
	}
}

// Go runs loop in the background until the service stops; Run waits for it.
func (a *App) Go(loop func(ctx context.Context)) {
	a.loops.Go(func() { loop(a.background) })
}

// Sidecar returns the connection to the sidecar's gRPC API, once the sidecar
// has loaded its components (it waits up to SIDECAR_WAIT: an app and its
// sidecar may start in any order).
func (a *App) Sidecar() (dapr.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.base.SidecarWait)
	defer cancel()
	c, err := sidecar.Connect(ctx, a.base.DaprGRPCAddr, a.base.DaprHTTPAddr)
	if err != nil {
		return nil, err
	}
	a.client = c
	return c, nil
}

// Secret reads a secret from the secret store.
func (a *App) Secret(name string) (string, error) {
	c, err := a.Sidecar()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.base.SidecarWait)
	defer cancel()
	return sidecar.Secret(ctx, c, a.base.SecretStore, name)
}

// SessionKeys returns the keys of session tokens: ttl is how long a session
// it issues lasts (auth); the services that only verify sessions pass 0.
func (a *App) SessionKeys(ttl time.Duration) (*auth.Keys, error) {
	key, err := a.Secret(a.base.JWTSecretName)
	if err != nil {
		return nil, err
	}
	keys, err := auth.NewKeys([]byte(key), ttl)
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", a.base.JWTSecretName, err)
	}
	return keys, nil
}

// Store returns the service's own state store, and runs its background work
// (group commit, publishing, the outbox relay) until the service stops.
func (a *App) Store() (*store.Store, error) {
	c, err := a.Sidecar()
	if err != nil {
		return nil, err
	}
	db := store.New(sidecar.NewState(a.base.DaprHTTPAddr, a.base.StateStore), sidecar.NewPublisher(c, a.base.PubSub), a.Log)
	a.Go(func(ctx context.Context) { db.Run(ctx, store.Settings{RelayInterval: a.base.RelayInterval}) })
	return db, nil
}
