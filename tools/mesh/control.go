package mesh

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CutBroker cuts the network between the broker and everything else, as a
// partition would: the link of the broker's network namespace goes down, so
// packets are lost (open connections hang, new ones time out or find no
// route) rather than refused. The broker itself keeps running. It needs
// Options.IsolateBroker.
func (m *Mesh) CutBroker() error {
	if m.netns == nil {
		return errNotIsolated
	}
	return m.netns.Cut()
}

// HealBroker brings the link back up and returns once it carries packets
// again; clients reconnect, or their hung connections resume, on their own.
func (m *Mesh) HealBroker() error {
	if m.netns == nil {
		return errNotIsolated
	}
	return m.netns.Heal()
}

// BrokerNetNS names the broker's network namespace ("" unless isolated).
func (m *Mesh) BrokerNetNS() string {
	if m.netns == nil {
		return ""
	}
	return m.netns.Name
}

var errNotIsolated = errors.New("the broker is not isolated: start the mesh with Options.IsolateBroker")

// Restart kills a process with SIGKILL (a crash, not a shutdown), starts it
// again, and waits until it is ready, as the fault tests need.
func (m *Mesh) Restart(ctx context.Context, name string) error {
	p := m.byName[name]
	if p == nil {
		return fmt.Errorf("no process %q", name)
	}
	p.Kill()
	return m.Resume(ctx, name)
}

// Resume starts stopped processes again, all at once (an app and its sidecar
// wait for each other), and waits until each is ready.
func (m *Mesh) Resume(ctx context.Context, names ...string) error {
	procs := make([]*Proc, len(names))
	for i, name := range names {
		p := m.byName[name]
		if p == nil {
			return fmt.Errorf("no process %q", name)
		}
		if exited, _ := p.Exited(); !exited && p.Pid() != 0 {
			return fmt.Errorf("%s is still running", name)
		}
		if err := p.Start(); err != nil {
			return err
		}
		procs[i] = p
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return waitAll(ctx, len(procs), func(i int) error {
		ready := m.readiness(procs[i].Name)
		if ready == nil {
			return nil
		}
		return waitReady(ctx, procs[i], "ready", ready)
	})
}

// readiness returns how to tell that the named process is ready.
func (m *Mesh) readiness(name string) func(context.Context) error {
	switch name {
	case "nats":
		return natsReady(m.NATSURL())
	case "redis":
		return redisReady(m.redisAddr())
	case "rabbitmq":
		return amqpReady(m.RabbitMQURL())
	case "epmd":
		return tcpReady(fmt.Sprintf("127.0.0.1:%d", m.ports.Epmd))
	case "postgres":
		return pgReady(m.PostgresURL("postgres"))
	case "placement":
		return httpReady(fmt.Sprintf("http://127.0.0.1:%d/healthz", m.ports.PlaceHTTP))
	case "scheduler":
		return httpReady(fmt.Sprintf("http://127.0.0.1:%d/healthz", m.ports.SchedHTTP))
	case "stripe-mock":
		return tcpReady(fmt.Sprintf("127.0.0.1:%d", m.ports.StripeMock))
	}
	for id, ap := range m.apps {
		switch name {
		case id:
			a, _ := m.runFile.App(m.instanceOf[id])
			return httpReady(fmt.Sprintf("http://127.0.0.1:%d%s", ap.App, healthPath(a)))
		case id + "-daprd":
			return httpReady(fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", ap.DaprHTTP))
		}
	}
	return nil
}

// AddReplica starts one more instance of an app beside its own sidecar (same
// app id, other ports), as a second pod would run. It returns the replica's
// name ("orders-2", with its sidecar "orders-2-daprd").
func (m *Mesh) AddReplica(ctx context.Context, appID string) (string, error) {
	a, ok := m.runFile.App(appID)
	if !ok {
		return "", fmt.Errorf("no app %q", appID)
	}
	ps, err := FreePorts(6)
	if err != nil {
		return "", err
	}
	n := 2
	for m.byName[fmt.Sprintf("%s-%d", appID, n)] != nil {
		n++
	}
	name := fmt.Sprintf("%s-%d", appID, n)
	m.instanceOf[name] = appID
	m.apps[name] = &AppPorts{App: ps[0], DaprHTTP: ps[1], DaprGRPC: ps[2], DaprInternal: ps[3], Metrics: ps[4], Profile: ps[5]}
	app, sidecar := m.appProcAs(a, name), m.daprdProcAs(a, name)
	for _, p := range []*Proc{app, sidecar} {
		if err := m.start(p); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err = waitAll(ctx, 2, func(i int) error {
		p := []*Proc{app, sidecar}[i]
		return waitReady(ctx, p, "ready", m.readiness(p.Name))
	})
	return name, err
}
