// Command mesh runs the marketplace locally: `mesh up` starts everything and
// stops it all on Ctrl-C; `mesh runtime` only builds the Dapr runtime.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/tixmesh/ticketing/tools/mesh"
)

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "mesh:", err)
		os.Exit(1)
	}
}

const usage = `usage: mesh up | mesh runtime

  up        build what is missing, start the whole mesh, print its URL, stop it on Ctrl-C
  runtime   build (or find) the Dapr runtime and print its directory

environment:
  PORT          the public origin's port (default 8080)
  PG_URL        use this PostgreSQL server instead of starting one (postgres://user@host:port)
  BROKER        the pub/sub broker and its set under components/brokers/:
                jetstream (default), redis or rabbitmq; the runner starts it
  APPS          only these apps, comma-separated (default: every app of dapr.yaml)
  MESH_ROOT     where .mesh/ (data, logs, binaries) lives (default: the repository)
  SIDECAR_PROFILING=1  serve each sidecar's pprof on 17090 and up (dapr.yaml's order)
  APP_PROFILING=1      serve each app's Go profiles on 17190 and up (dapr.yaml's order)
  ZIPKIN_URL    export every sidecar's spans to this Zipkin endpoint (http://127.0.0.1:9411/api/v2/spans)
  any other variable (ORDER_EXPIRATION_WINDOW=30s, ...) reaches every app
`

func run(args []string, getenv func(string) string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s", usage)
	}
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "runtime":
		dir, err := mesh.EnsureRuntime(ctx, repo, os.Stderr)
		if err != nil {
			return err
		}
		fmt.Println(dir)
		return nil
	case "up":
	default:
		return fmt.Errorf("%s", usage)
	}
	opts := mesh.Options{
		RepoDir:          repo,
		Root:             getenv("MESH_ROOT"),
		PostgresURL:      getenv("PG_URL"),
		Broker:           getenv("BROKER"),
		Apps:             splitList(getenv("APPS")),
		SidecarProfiling: getenv("SIDECAR_PROFILING") != "",
		AppProfiling:     getenv("APP_PROFILING") != "",
		ZipkinURL:        getenv("ZIPKIN_URL"),
		Progress:         os.Stderr,
	}
	if p := getenv("PORT"); p != "" {
		if opts.GatewayPort, err = strconv.Atoi(p); err != nil {
			return fmt.Errorf("PORT=%q: want a port number", p)
		}
	}
	m, err := mesh.Up(ctx, opts)
	if err != nil {
		return err
	}
	defer m.Stop()
	m.Watch(ctx, func(p *mesh.Proc, err error) {
		fmt.Fprintf(os.Stderr, "mesh: %s exited unexpectedly (%v); last lines of %s:\n%s\n", p.Name, err, p.LogPath, p.Tail(10))
	})
	fmt.Printf("\n  The marketplace is up: %s\n  Logs: %s/logs/<process>.log   Stop: Ctrl-C\n\n", m.URL(), strings.TrimSuffix(m.DataDir(), "/"))
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "mesh: stopping")
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
