package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
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

// AppPorts are one app's and its sidecar's ports.
type AppPorts struct {
	App, DaprHTTP, DaprGRPC, DaprInternal, Metrics int
	// Profile is the sidecar's pprof port (Options.SidecarProfiling).
	Profile int
}

// stateStores are the apps that own a state store, hence a database.
var stateStores = []string{"auth", "tickets", "orders", "payments", "expiration"}

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
	if err := m.startApps(ctx); err != nil {
		return nil, err
	}
	if m.gateway, err = startGateway(m); err != nil {
		return nil, err
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

// Ports returns the infrastructure ports.
func (m *Mesh) Ports() Ports { return m.ports }

// App returns an app's ports.
func (m *Mesh) App(id string) *AppPorts { return m.apps[id] }

// Proc returns a process by name ("orders", "orders-daprd", "nats", ...).
func (m *Mesh) Proc(name string) *Proc { return m.byName[name] }

// Procs returns every process, in start order.
func (m *Mesh) Procs() []*Proc { return append([]*Proc(nil), m.procs...) }

func (m *Mesh) bin(name string) string { return filepath.Join(m.binDir, name) }

func (m *Mesh) proc(name, kind, path string, args []string) *Proc {
	return &Proc{
		Name: name, Kind: kind, Path: path, Args: args, Dir: m.opts.Root,
		// Sidecars register this address for service invocation, and their
		// internal API listens on loopback; it also spares them looking for a
		// non-loopback interface, which a machine with only loopback lacks.
		Env:     mergeEnv(os.Environ(), map[string]string{"DAPR_HOST_IP": "127.0.0.1"}),
		LogPath: filepath.Join(m.dataDir, "logs", name+".log"),
	}
}

func (m *Mesh) start(p *Proc) error {
	if err := p.Start(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byName[p.Name]; !ok {
		m.procs = append(m.procs, p)
	}
	m.byName[p.Name] = p
	return nil
}

// acquireLock makes a second runner on the same data directory fail at once,
// saying where the first one is, instead of fighting over ports and files.
func (m *Mesh) acquireLock() error {
	f, err := os.OpenFile(filepath.Join(m.dataDir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		var st runState
		if b, rerr := os.ReadFile(filepath.Join(m.dataDir, "state.json")); rerr == nil && json.Unmarshal(b, &st) == nil {
			return fmt.Errorf("a mesh is already running from %s (runner pid %d, %s); stop it with Ctrl-C first", m.dataDir, st.PID, st.URL)
		}
		return fmt.Errorf("a mesh is already running (or starting) from %s; stop it with Ctrl-C first", m.dataDir)
	}
	m.lock = f
	return nil
}

type runState struct {
	PID     int       `json:"pid"`
	URL     string    `json:"url"`
	Started time.Time `json:"started"`
}

func (m *Mesh) writeState() {
	b, _ := json.Marshal(runState{PID: os.Getpid(), URL: m.URL(), Started: time.Now()})
	_ = os.WriteFile(filepath.Join(m.dataDir, "state.json"), b, 0o644)
}

func (m *Mesh) assignPorts() error {
	if !m.opts.FreePorts {
		m.ports = DefaultPorts()
		if m.opts.GatewayPort != 0 {
			m.ports.Gateway = m.opts.GatewayPort
		}
		want := map[string]int{
			"public origin": m.ports.Gateway,
			"placement":     m.ports.Placement, "placement health": m.ports.PlaceHTTP, "placement raft": m.ports.PlaceRaft,
			"scheduler": m.ports.Scheduler, "scheduler health": m.ports.SchedHTTP,
			"scheduler etcd": m.ports.EtcdClient, "scheduler etcd peer": m.ports.EtcdPeer, "stripe-mock": m.ports.StripeMock, "stripe-mock https": m.ports.StripeTLS,
		}
		m.brokerPorts(want)
		if m.opts.PostgresURL == "" {
			want["postgres"] = m.ports.Postgres
		}
		metrics, profile := 19090, 17090
		for _, a := range m.runFile.Apps {
			ap := &AppPorts{App: a.AppPort, DaprHTTP: a.DaprHTTPPort, DaprGRPC: a.DaprGRPCPort, Metrics: a.MetricsPort, Profile: profile}
			profile++
			if ap.Metrics == 0 {
				ap.Metrics = metrics
				metrics++
			}
			if m.opts.SidecarProfiling {
				want[a.AppID+" sidecar pprof"] = ap.Profile
			}
			m.apps[a.AppID] = ap
			want[a.AppID+" app"] = ap.App
			want[a.AppID+" sidecar http"] = ap.DaprHTTP
			want[a.AppID+" sidecar grpc"] = ap.DaprGRPC
			want[a.AppID+" sidecar metrics"] = ap.Metrics
		}
		return checkFree(want)
	}
	n := 17 + 6*len(m.runFile.Apps)
	ps, err := FreePorts(n)
	if err != nil {
		return err
	}
	next := func() int { p := ps[0]; ps = ps[1:]; return p }
	m.ports = Ports{
		Gateway: next(), NATS: next(), NATSHTTP: next(), Postgres: next(), Placement: next(), PlaceHTTP: next(),
		PlaceRaft: next(), Scheduler: next(), SchedHTTP: next(), EtcdClient: next(), EtcdPeer: next(), StripeMock: next(),
		StripeTLS: next(), Redis: next(), RabbitMQ: next(), RabbitDist: next(), Epmd: next(),
	}
	for _, a := range m.runFile.Apps {
		m.apps[a.AppID] = &AppPorts{App: next(), DaprHTTP: next(), DaprGRPC: next(), DaprInternal: next(), Metrics: next(), Profile: next()}
	}
	// The public origin is bound last, once everything is ready: hold its
	// port from now on, or a process started meanwhile can take it as an
	// ephemeral port ("address already in use", seen in CI).
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", m.ports.Gateway))
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		m.ports.Gateway = ln.Addr().(*net.TCPAddr).Port
	}
	m.gatewayLn = ln
	return nil
}

// EnsureRuntime builds (once per machine and version) and returns the
// directory of daprd, placement, scheduler, nats-server and stripe-mock.
func EnsureRuntime(ctx context.Context, repoDir string, progress io.Writer) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoDir, "tools", "runtime", "build.sh"))
	cmd.Stderr = progress
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building the Dapr runtime: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

// buildApps compiles every app of dapr.yaml in one go build.
func (m *Mesh) buildApps(ctx context.Context) error {
	m.appBin = filepath.Join(m.dataDir, "bin")
	args := []string{"build", "-o", m.appBin + string(filepath.Separator)}
	for _, a := range m.runFile.Apps {
		args = append(args, "./"+filepath.ToSlash(filepath.Clean(a.AppDirPath)))
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = m.runFile.Dir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("building the apps failed:\n%s", indent(strings.TrimSpace(string(out))))
	}
	return nil
}

// startInfra starts the broker, the database, the Dapr control plane and
// stripe-mock, all at once, and waits until each is ready.
func (m *Mesh) startInfra(ctx context.Context) error {
	t0 := time.Now()
	waits, err := m.brokerProcs(ctx)
	if err != nil {
		return err
	}
	waits = append(waits, []waiter{
		{m.placementProc(), "healthz", httpReady(fmt.Sprintf("http://127.0.0.1:%d/healthz", m.ports.PlaceHTTP))},
		{m.schedulerProc(), "healthz", httpReady(fmt.Sprintf("http://127.0.0.1:%d/healthz", m.ports.SchedHTTP))},
		{m.stripeMockProc(), "http", tcpReady(fmt.Sprintf("127.0.0.1:%d", m.ports.StripeMock))},
	}...)
	if m.opts.PostgresURL == "" {
		pg, err := newPostgres(m.dataDir)
		if err != nil {
			return err
		}
		if err := pg.init(ctx, filepath.Join(m.dataDir, "logs", "initdb.log")); err != nil {
			return err
		}
		m.pgDataDir = pg.dataDir
		waits = append(waits, waiter{m.postgresProc(pg), "connect", pgReady(m.PostgresURL("postgres"))})
	}
	for _, w := range waits {
		if err := m.start(w.p); err != nil {
			return err
		}
	}
	if err := waitAll(ctx, len(waits), func(i int) error {
		w := waits[i]
		return waitReady(ctx, w.p, w.what, w.ready)
	}); err != nil {
		return err
	}
	if m.opts.PostgresURL != "" {
		if err := pgReady(m.PostgresURL("postgres"))(ctx); err != nil {
			return fmt.Errorf("PG_URL %s: %w", m.opts.PostgresURL, err)
		}
	}
	if err := m.provisionBroker(ctx); err != nil {
		return err
	}
	if err := createDatabases(ctx, m.PostgresURL("postgres"), stateStores); err != nil {
		return err
	}
	m.say("infrastructure ready in %s (%s, postgres :%d, placement :%d, scheduler :%d, stripe-mock :%d)",
		since(t0), m.brokerSummary(), m.ports.Postgres, m.ports.Placement, m.ports.Scheduler, m.ports.StripeMock)
	return nil
}

// topics are the subjects the stream captures: the event contract's topics.
var topics = []string{"ticket:created", "ticket:updated", "order:created", "order:cancelled", "expiration:complete", "payment:created"}

func waitAll(ctx context.Context, n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f(i) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// secrets are what the local secret store serves: the apps' keys, and the
// infrastructure URLs the components reference with secretKeyRef.
func (m *Mesh) writeSecrets() error {
	path := filepath.Join(m.dataDir, "secrets.json")
	secrets := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &secrets)
	}
	// Keys persist across restarts (sessions stay valid); URLs follow the ports.
	if secrets["jwt-key"] == "" {
		secrets["jwt-key"] = randomKey(48)
	}
	if secrets["stripe-webhook-secret"] == "" {
		secrets["stripe-webhook-secret"] = "whsec_" + randomKey(24)
	}
	if !stripeTestKey.MatchString(secrets["stripe-secret-key"]) {
		// stripe-mock accepts any well-formed test key: sk_test_ and letters or digits.
		secrets["stripe-secret-key"] = "sk_test_" + randomHex(16)
	}
	m.brokerSecrets(secrets)
	for _, db := range stateStores {
		secrets["postgres-"+db] = m.PostgresURL(db)
	}
	b, err := json.MarshalIndent(secrets, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// startApps starts every app beside its sidecar and waits until all are healthy.
func (m *Mesh) startApps(ctx context.Context) error {
	t0 := time.Now()
	apps := m.runFile.Apps
	for _, a := range apps {
		if err := m.start(m.appProc(a)); err != nil {
			return err
		}
		if err := m.start(m.daprdProc(a)); err != nil {
			return err
		}
	}
	err := waitAll(ctx, 2*len(apps), func(i int) error {
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
	if c := m.runFile.Common.ConfigFilePath; c != "" {
		args = append(args, "--config", m.runFile.path(c))
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

func mergeEnv(base []string, over map[string]string) []string {
	out := make([]string, 0, len(base)+len(over))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := over[k]; !ok {
			out = append(out, kv)
		}
	}
	for k, v := range over {
		out = append(out, k+"="+v)
	}
	return out
}

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

// Secret returns a value of the local secret store (.mesh/secrets.json).
func (m *Mesh) Secret(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(m.dataDir, "secrets.json"))
	if err != nil {
		return "", err
	}
	var secrets map[string]string
	if err := json.Unmarshal(b, &secrets); err != nil {
		return "", err
	}
	v, ok := secrets[name]
	if !ok {
		return "", fmt.Errorf("no secret %q", name)
	}
	return v, nil
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
