package mesh

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options say where the mesh runs and how.
type Options struct {
	// RepoDir holds dapr.yaml, components/, manifests/ and apps/.
	RepoDir string
	// Root is the sidecars' working directory; the mesh keeps its state in
	// Root/.mesh (logs, data, binaries, secrets). Default: RepoDir.
	Root string
	// FreePorts gives every process a free port (the tests); otherwise the
	// ports are dapr.yaml's and DefaultPorts.
	FreePorts bool
	// GatewayPort overrides the public origin's port.
	GatewayPort int
	// PostgresURL uses an existing PostgreSQL server instead of starting one.
	PostgresURL string
	// Broker names the pub/sub component set under components/brokers/.
	Broker string
	// Env is added to every app's environment (after dapr.yaml's).
	Env map[string]string
	// SidecarProfiling serves each sidecar's pprof endpoints (daprd
	// --enable-profiling) on AppPorts.Profile: 17090 and up, in dapr.yaml's
	// order, with the default ports.
	SidecarProfiling bool
	// AppProfiling serves each app's Go profiles (PPROF_ADDR) on
	// AppPorts.Profile + 100: 17190 and up, with the default ports.
	AppProfiling bool
	// ZipkinURL, when set, makes every sidecar export its spans (every
	// request traced) to this Zipkin v2 endpoint
	// (http://host:9411/api/v2/spans).
	ZipkinURL string
	// SidecarLogLevel, when set, overrides dapr.yaml's log level for every
	// daprd (debug, for a post-mortem of the sidecars' deliveries).
	SidecarLogLevel string
	// Apps, when set, runs only these apps of dapr.yaml (the infrastructure
	// always runs whole).
	Apps []string
	// Progress receives one line per step.
	Progress io.Writer
	// IsolateBroker runs the broker (JetStream only) in a network namespace of
	// its own, joined to this one by a veth pair on a private /30, so that
	// CutBroker and HealBroker can cut the network between it and everything
	// else. It needs root and the `ip` command: without them Up fails with an
	// error that wraps ErrNoNetNS.
	IsolateBroker bool
}

// Mesh is a running marketplace.
type Mesh struct {
	opts    Options
	runFile *RunFile
	dataDir string
	config  string // the sidecars' Configuration file (see sidecarConfig)
	binDir  string
	appBin  string
	ports   Ports
	apps    map[string]*AppPorts // by instance: the app id, or a replica's name ("orders-2")
	// instanceOf maps an instance name to its app id.
	instanceOf map[string]string
	procs      []*Proc
	byName     map[string]*Proc
	gateway    *gateway
	gatewayLn  net.Listener    // the public origin's port, held from assignment (free ports)
	stripe     *stripeRecorder // counts the apps\' Stripe calls on their way to stripe-mock
	lock       *os.File
	// pgDataDir is the PostgreSQL cluster's directory (outside dataDir when the
	// postgres user cannot reach dataDir).
	pgDataDir string
	// subs are the declarative subscriptions, by component name.
	subs map[string]subscription
	// rabbit is the RabbitMQ node, when that is the broker.
	rabbit *rabbit
	// netns is the broker's network namespace (Options.IsolateBroker).
	netns    *netNS
	mu       sync.Mutex
	stopping bool
}

// Up builds what is missing, starts everything, and returns once every app and
// sidecar is healthy. On error, whatever it started is stopped.
func Up(ctx context.Context, opts Options) (_ *Mesh, err error) {
	if opts.Root == "" {
		opts.Root = opts.RepoDir
	}
	if opts.Broker == "" {
		opts.Broker = "jetstream"
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	rf, err := LoadRunFile(filepath.Join(opts.RepoDir, "dapr.yaml"))
	if err != nil {
		return nil, err
	}
	if len(opts.Apps) > 0 {
		var keep []RunApp
		for _, id := range opts.Apps {
			a, ok := rf.App(id)
			if !ok {
				return nil, fmt.Errorf("no app %q in dapr.yaml", id)
			}
			keep = append(keep, a)
		}
		rf.Apps = keep
	}
	if err := checkBroker(opts.RepoDir, opts.Broker); err != nil {
		return nil, err
	}
	if opts.IsolateBroker && opts.Broker != JetStream {
		return nil, fmt.Errorf("IsolateBroker: only the %s broker can run in a network namespace of its own, not %s", JetStream, opts.Broker)
	}
	m := &Mesh{opts: opts, runFile: rf, dataDir: filepath.Join(opts.Root, ".mesh"), byName: map[string]*Proc{}, apps: map[string]*AppPorts{}, instanceOf: map[string]string{}}
	for _, a := range rf.Apps {
		m.instanceOf[a.AppID] = a.AppID
	}
	if err := m.loadSubscriptions(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(m.dataDir, 0o755); err != nil {
		return nil, err
	}
	if err := m.acquireLock(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			m.Stop()
		}
	}()
	if opts.IsolateBroker {
		if m.netns, err = newNetNS(); err != nil {
			return nil, err
		}
		m.say("broker isolated in network namespace %s (%s, host end %s %s)", m.netns.Name, m.netns.NSIP, m.netns.HostIf, m.netns.HostIP)
	}
	if err := m.assignPorts(); err != nil {
		return nil, err
	}

	t0 := time.Now()
	if m.binDir, err = EnsureRuntime(ctx, opts.RepoDir, opts.Progress); err != nil {
		return nil, err
	}
	if err := m.buildApps(ctx); err != nil {
		return nil, err
	}
	m.say("binaries ready in %s", since(t0))

	if err := m.startInfra(ctx); err != nil {
		return nil, err
	}
	if m.stripe, err = startStripeRecorder(m.StripeURL()); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(m.dataDir, RecorderFile), []byte(m.stripe.url()), 0o644); err != nil {
		return nil, err
	}
	if err := m.writeSecrets(); err != nil {
		return nil, err
	}
	if m.config, err = m.sidecarConfig(); err != nil {
		return nil, err
	}
	if err := m.startApps(ctx); err != nil {
		return nil, err
	}
	if m.gateway, err = startGateway(m); err != nil {
		return nil, err
	}
	// Stripe's webhooks reach payments through the public origin, as they
	// would from Stripe.
	if secret, err := m.Secret("stripe-webhook-secret"); err == nil {
		m.stripe.webhooks(m.URL()+"/api/payments/webhook", secret)
	}
	m.writeState()
	m.say("healthy in %s: %s", since(t0), m.URL())
	return m, nil
}

func (m *Mesh) say(format string, args ...any) {
	fmt.Fprintf(m.opts.Progress, "mesh: "+format+"\n", args...)
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// URL is the public origin.
func (m *Mesh) URL() string { return fmt.Sprintf("http://localhost:%d", m.ports.Gateway) }

// DataDir is where the mesh keeps its state.
func (m *Mesh) DataDir() string { return m.dataDir }

// Stop stops the gateway, then the apps, then their sidecars, then the
// infrastructure, each group in parallel, and releases the data directory.
func (m *Mesh) Stop() {
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return
	}
	m.stopping = true
	procs := append([]*Proc(nil), m.procs...)
	m.mu.Unlock()
	if m.gatewayLn != nil {
		_ = m.gatewayLn.Close() // Up failed before the gateway started
		m.gatewayLn = nil
	}
	if m.gateway != nil {
		m.gateway.close()
	}
	if m.stripe != nil {
		_ = m.stripe.srv.Close()
	}
	for _, kind := range []string{"app", "sidecar", "infra"} {
		var wg sync.WaitGroup
		for _, p := range procs {
			if p.Kind != kind || p.Pid() == 0 {
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); p.Stop(10 * time.Second) }()
		}
		wg.Wait()
	}
	m.netns.Remove()
	if m.lock != nil {
		_ = os.Remove(filepath.Join(m.dataDir, "state.json"))
		m.lock.Close()
	}
}

// Destroy stops the mesh and deletes all of its data.
func (m *Mesh) Destroy() {
	m.Stop()
	if m.pgDataDir != "" && !strings.HasPrefix(m.pgDataDir, m.dataDir) {
		_ = os.RemoveAll(filepath.Dir(m.pgDataDir))
	}
	_ = os.RemoveAll(m.dataDir)
}

// Watch reports processes that exit while the mesh runs, until ctx ends.
func (m *Mesh) Watch(ctx context.Context, report func(p *Proc, err error)) {
	for _, p := range m.Procs() {
		go func() {
			select {
			case <-ctx.Done():
			case <-p.Done():
				m.mu.Lock()
				stopping := m.stopping
				m.mu.Unlock()
				if !stopping {
					_, err := p.Exited()
					report(p, err)
				}
			}
		}()
	}
}
