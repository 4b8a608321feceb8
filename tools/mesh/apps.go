package mesh

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// startApps starts every app beside its sidecar and waits until all are
// healthy. The sidecars start first; an app that owns migrations starts once
// they ran (see migrate.go), the others at once.
func (m *Mesh) startApps(ctx context.Context) error {
	t0 := time.Now()
	apps := m.runFile.Apps
	sidecars := make([]*Proc, len(apps))
	outbound := func(i int) string {
		return fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz/outbound", m.apps[apps[i].AppID].DaprHTTP)
	}
	for i, a := range apps {
		sidecars[i] = m.daprdProc(a)
		if err := m.start(sidecars[i]); err != nil {
			return err
		}
		// The first sidecar creates the name-resolution database (SQLite,
		// components/local/config.yaml) before the others open it: sidecars
		// that create it at once race to switch it to WAL, and the loser's
		// name resolution fails for good ("database is locked"), so no one
		// can invoke that app. A sidecar answers its outbound health check
		// only after its name resolution is set up.
		if i == 0 && len(apps) > 1 {
			if err := waitReady(ctx, sidecars[0], "healthz/outbound", httpReady(outbound(0))); err != nil {
				return err
			}
		}
	}
	var mu sync.Mutex
	var migrated []string
	err := waitAll(ctx, len(apps), func(i int) error {
		a := apps[i]
		if m.hasMigrations(a) {
			if err := waitReady(ctx, sidecars[i], "healthz/outbound", httpReady(outbound(i))); err != nil {
				return err
			}
			if err := m.migrate(ctx, a); err != nil {
				return err
			}
			mu.Lock()
			migrated = append(migrated, a.AppID)
			mu.Unlock()
		}
		return m.start(m.appProc(a))
	})
	if err != nil {
		return err
	}
	if len(migrated) > 0 {
		sort.Strings(migrated)
		m.say("migrations applied in %s: %s", since(t0), strings.Join(migrated, ", "))
	}
	err = waitAll(ctx, 2*len(apps), func(i int) error {
		a := apps[i/2]
		ap := m.apps[a.AppID]
		if i%2 == 0 {
			return waitReady(ctx, m.byName[a.AppID], "readyz", httpReady(fmt.Sprintf("http://127.0.0.1:%d%s", ap.App, healthPath(a))))
		}
		return waitReady(ctx, m.byName[a.AppID+"-daprd"], "healthz", httpReady(fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", ap.DaprHTTP)))
	})
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(apps))
	for _, a := range apps {
		ids = append(ids, a.AppID)
	}
	sort.Strings(ids)
	m.say("apps and sidecars ready in %s: %s", since(t0), strings.Join(ids, ", "))
	return nil
}

func healthPath(a RunApp) string {
	if a.AppHealthCheckPath != "" {
		return a.AppHealthCheckPath
	}
	return "/readyz"
}

func (m *Mesh) appProc(a RunApp) *Proc { return m.appProcAs(a, a.AppID) }

func (m *Mesh) daprdProc(a RunApp) *Proc { return m.daprdProcAs(a, a.AppID) }

// appProcAs is the process of one instance of app a.
func (m *Mesh) appProcAs(a RunApp, instance string) *Proc {
	ap := m.apps[instance]
	env := m.runFile.appEnv(a)
	for k := range env { // the caller's environment overrides dapr.yaml's defaults
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	for k, v := range m.opts.Env {
		env[k] = v
	}
	env["APP_ID"] = a.AppID
	env["APP_PORT"] = itoa(ap.App)
	env["DAPR_HTTP_PORT"] = itoa(ap.DaprHTTP)
	env["DAPR_GRPC_PORT"] = itoa(ap.DaprGRPC)
	env["STRIPE_API_BASE"] = m.stripe.url()
	env["PUBLIC_URL"] = m.URL()
	if m.opts.AppProfiling {
		env["PPROF_ADDR"] = fmt.Sprintf("127.0.0.1:%d", ap.Profile+100)
	}
	p := m.proc(instance, "app", filepath.Join(m.appBin, filepath.Base(a.AppDirPath)), nil)
	p.Env = mergeEnv(os.Environ(), env)
	return p
}

// daprdProcAs is the sidecar of one instance of app a.
func (m *Mesh) daprdProcAs(a RunApp, instance string) *Proc {
	ap := m.apps[instance]
	level := a.LogLevel
	if level == "" {
		level = m.runFile.Common.LogLevel
	}
	if level == "" {
		level = "info"
	}
	if m.opts.SidecarLogLevel != "" {
		level = m.opts.SidecarLogLevel
	}
	args := []string{
		"--app-id", a.AppID,
		"--app-port", itoa(ap.App),
		"--app-channel-address", "127.0.0.1",
		"--dapr-http-port", itoa(ap.DaprHTTP),
		"--dapr-grpc-port", itoa(ap.DaprGRPC),
		"--dapr-listen-addresses", "127.0.0.1",
		"--dapr-internal-grpc-listen-address", "127.0.0.1",
		"--metrics-port", itoa(ap.Metrics),
		"--metrics-listen-address", "127.0.0.1",
		"--placement-host-address", fmt.Sprintf("127.0.0.1:%d", m.ports.Placement),
		"--scheduler-host-address", fmt.Sprintf("127.0.0.1:%d", m.ports.Scheduler),
		"--log-level", level,
		"--dapr-graceful-shutdown-seconds", "5",
	}
	if m.opts.SidecarProfiling {
		args = append(args, "--enable-profiling", "--profile-port", itoa(ap.Profile))
	}
	if ap.DaprInternal != 0 {
		args = append(args, "--dapr-internal-grpc-port", itoa(ap.DaprInternal))
	}
	for _, rp := range m.resourcesPaths() {
		args = append(args, "--resources-path", rp)
	}
	if m.config != "" {
		args = append(args, "--config", m.config)
	}
	return m.proc(instance+"-daprd", "sidecar", m.bin("daprd"), args)
}

// resourcesPaths are dapr.yaml's, with the broker set swapped for the chosen one.
func (m *Mesh) resourcesPaths() []string {
	var out []string
	for _, rp := range m.runFile.Common.ResourcesPaths {
		p := m.runFile.path(rp)
		if filepath.Base(filepath.Dir(p)) == "brokers" {
			p = filepath.Join(filepath.Dir(p), m.opts.Broker)
		}
		out = append(out, p)
	}
	return out
}
