package mesh

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

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

func (m *Mesh) placementProc() *Proc {
	return m.proc("placement", "infra", m.bin("placement"), []string{
		"--port", itoa(m.ports.Placement),
		"--listen-address", "127.0.0.1",
		"--healthz-port", itoa(m.ports.PlaceHTTP),
		"--healthz-listen-address", "127.0.0.1",
		"--initial-cluster", fmt.Sprintf("dapr-placement-0=127.0.0.1:%d", m.ports.PlaceRaft),
		"--enable-metrics=false",
		"--log-level", "warn",
	})
}

// schedulerProc keeps its embedded etcd in the data directory, so reminders
// outlive a restart of the scheduler and of the whole mesh.
func (m *Mesh) schedulerProc() *Proc {
	return m.proc("scheduler", "infra", m.bin("scheduler"), []string{
		"--port", itoa(m.ports.Scheduler),
		"--listen-address", "127.0.0.1",
		"--healthz-port", itoa(m.ports.SchedHTTP),
		"--healthz-listen-address", "127.0.0.1",
		"--etcd-data-dir", filepath.Join(m.dataDir, "scheduler"),
		"--etcd-client-port", itoa(m.ports.EtcdClient),
		"--etcd-client-listen-address", "127.0.0.1",
		"--etcd-initial-cluster", fmt.Sprintf("dapr-scheduler-server-0=http://127.0.0.1:%d", m.ports.EtcdPeer),
		"--enable-metrics=false",
		"--log-level", "warn",
	})
}
