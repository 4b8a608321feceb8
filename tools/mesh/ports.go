package mesh

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
)

// Ports are the infrastructure's ports. The defaults stay clear of the
// standard ports of servers a developer machine may already run (PostgreSQL
// 5432, NATS 4222, Redis 6379, RabbitMQ 5672 and 15672, epmd 4369, ...).
type Ports struct {
	Gateway    int // the public origin
	NATS       int
	NATSHTTP   int // NATS monitoring
	Postgres   int
	Placement  int
	PlaceHTTP  int // placement health
	PlaceRaft  int // placement raft
	Scheduler  int
	SchedHTTP  int // scheduler health
	EtcdClient int
	EtcdPeer   int
	StripeMock int
	StripeTLS  int // stripe-mock always serves HTTPS too; give it a port of ours
	Redis      int // BROKER=redis
	RabbitMQ   int // BROKER=rabbitmq: AMQP
	RabbitDist int // BROKER=rabbitmq: Erlang distribution (rabbitmqctl)
	Epmd       int // BROKER=rabbitmq: its own Erlang port mapper
}

// AppPorts are one app's and its sidecar's ports.
type AppPorts struct {
	App, DaprHTTP, DaprGRPC, DaprInternal, Metrics int
	// Profile is the sidecar's pprof port (Options.SidecarProfiling).
	Profile int
}

// DefaultPorts are the ports of `make up`.
func DefaultPorts() Ports {
	return Ports{
		Gateway: 8080, NATS: 14222, NATSHTTP: 18222, Postgres: 15432,
		Placement: 16005, PlaceHTTP: 18085, PlaceRaft: 18201, Scheduler: 16006, SchedHTTP: 18086,
		EtcdClient: 12379, EtcdPeer: 12380, StripeMock: 12111, StripeTLS: 12112,
		Redis: 16379, RabbitMQ: 15673, RabbitDist: 15674, Epmd: 14369,
	}
}

// Ports returns the infrastructure ports.
func (m *Mesh) Ports() Ports { return m.ports }

// App returns an app's ports.
func (m *Mesh) App(id string) *AppPorts { return m.apps[id] }

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
			if m.opts.AppProfiling {
				want[a.AppID+" app pprof"] = ap.Profile + 100
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

// The range FreePorts picks from: below Linux's default ephemeral range
// (32768-60999), from which the kernel gives ports to outgoing connections.
// A port the kernel gave us for ":0" is in that range, and any connection the
// mesh makes meanwhile (to NATS, to PostgreSQL) can take it before its process
// listens on it (seen: "bind: address already in use" for a sidecar's gRPC
// port). Nothing but an explicit bind takes a port below it.
const (
	freePortsFrom = 20000
	freePortsTo   = 32767
)

// FreePorts returns n distinct ports that were free a moment ago, outside the
// ephemeral range.
func FreePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("no %d free ports between %d and %d", n, freePortsFrom, freePortsTo)
		}
		p := freePortsFrom + rand.IntN(freePortsTo-freePortsFrom+1)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // taken (or held by us already)
		}
		ls = append(ls, l)
		ports = append(ports, p)
	}
	return ports, nil
}

// checkFree fails with a message naming every port that is already taken and
// what the runner wanted it for.
func checkFree(want map[string]int) error {
	var taken []string
	for what, port := range want {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			taken = append(taken, fmt.Sprintf("%d (%s)", port, what))
			continue
		}
		l.Close()
	}
	if len(taken) > 0 {
		return fmt.Errorf("ports already in use: %s; stop what uses them, or move the mesh (PORT=... for the public origin, or edit dapr.yaml)", strings.Join(taken, ", "))
	}
	return nil
}
