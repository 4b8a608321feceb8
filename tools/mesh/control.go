package mesh

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Control changes a running mesh the way a fault or an operator would: it
// crashes and restarts processes, starts a second replica of an app, and cuts
// the broker off the network. The runner itself never needs it; the fault run
// (tools/chaos) and the end-to-end suite (tools/e2e) do. Reading the mesh
// (its processes, URLs, the broker's streams, the Stripe calls) stays on Mesh.
type Control struct{ m *Mesh }

// Control returns the controls of this mesh.
func (m *Mesh) Control() Control { return Control{m: m} }

var errNotIsolated = errors.New("the broker is not isolated: start the mesh with Options.IsolateBroker")

// CutBroker cuts the network between the broker and everything else, as a
// partition would: the link of the broker's network namespace goes down, so
// packets are lost (open connections hang, new ones time out or find no
// route) rather than refused. The broker itself keeps running. It needs
// Options.IsolateBroker.
func (c Control) CutBroker() error {
	if c.m.netns == nil {
		return errNotIsolated
	}
	return c.m.netns.Cut()
}

// HealBroker brings the link back up and returns once it carries packets
// again; clients reconnect, or their hung connections resume, on their own.
func (c Control) HealBroker() error {
	if c.m.netns == nil {
		return errNotIsolated
	}
	return c.m.netns.Heal()
}

// Restart kills a process with SIGKILL (a crash, not a shutdown), starts it
// again, and waits until it is ready, as the fault tests need.
func (c Control) Restart(ctx context.Context, name string) error {
	m := c.m
	p := m.byName[name]
	if p == nil {
		return fmt.Errorf("no process %q", name)
	}
	p.Kill()
	return c.Resume(ctx, name)
}

// Resume starts stopped processes again, all at once (an app and its sidecar
// wait for each other), and waits until each is ready.
func (c Control) Resume(ctx context.Context, names ...string) error {
	m := c.m
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

// AddReplica starts one more instance of an app beside its own sidecar (same
// app id, other ports), as a second pod would run. It returns the replica's
// name ("orders-2", with its sidecar "orders-2-daprd").
func (c Control) AddReplica(ctx context.Context, appID string) (string, error) {
	m := c.m
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
