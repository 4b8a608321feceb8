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

// DefaultPorts are the ports of `make up`.
func DefaultPorts() Ports {
	return Ports{
		Gateway: 8080, NATS: 14222, NATSHTTP: 18222, Postgres: 15432,
		Placement: 16005, PlaceHTTP: 18085, PlaceRaft: 18201, Scheduler: 16006, SchedHTTP: 18086,
		EtcdClient: 12379, EtcdPeer: 12380, StripeMock: 12111, StripeTLS: 12112,
		Redis: 16379, RabbitMQ: 15673, RabbitDist: 15674, Epmd: 14369,
	}
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
