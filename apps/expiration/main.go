// Command expiration is a placeholder until its issue is built: it runs beside its
// sidecar, answers health checks, and asks for redelivery of any event, so
// that nothing is lost before the real handlers exist.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/tixmesh/ticketing/apps/pkg/service"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "expiration:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	env := service.NewEnv(getenv)
	base := env.Base("3005")
	if err := env.Err(); err != nil {
		return err
	}
	log := service.NewLogger(stdout, base.LogFormat, base.LogLevel, "expiration")
	r := web.NewRouter(log)
	web.Health(r, nil)
	r.PathPrefix("/events/").Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.JSON(w, http.StatusOK, map[string]string{"status": "RETRY"})
	}))
	return service.Serve(ctx, log, base.Addr, r)
}
