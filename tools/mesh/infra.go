package mesh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
)

// StreamName is the JetStream stream that holds every topic.
const StreamName = "TICKETING"

// natsProc writes the NATS config and returns the process. JetStream syncs
// every write to disk before acknowledging it (sync_interval: always): the
// default acknowledges before fsync, and an OS crash could lose acknowledged
// events.
func (m *Mesh) natsProc() (*Proc, error) {
	dir := filepath.Join(m.dataDir, "nats")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`# written by the runner on every start
server_name: tixmesh
listen: %s:%d
http: %s:%d
jetstream {
  store_dir: %q
  sync_interval: always
  max_memory_store: 64MB
  max_file_store: 4GB
}
`, m.brokerHost(), m.ports.NATS, m.brokerHost(), m.ports.NATSHTTP, dir)
	path := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p := m.proc("nats", "infra", m.bin("nats-server"), []string{"-c", path})
	p.netns = m.netns // nil unless Options.IsolateBroker
	return p, nil
}

// brokerHost is the address the broker listens on: loopback, or its network
// namespace's end of the veth pair when isolated.
func (m *Mesh) brokerHost() string {
	if m.netns != nil {
		return m.netns.NSIP.String()
	}
	return "127.0.0.1"
}

// NATSURL is the broker's client URL.
func (m *Mesh) NATSURL() string { return fmt.Sprintf("nats://%s:%d", m.brokerHost(), m.ports.NATS) }

// NATSMonitorURL is the base URL of the broker's monitoring endpoint (/varz,
// /jsz, ...).
func (m *Mesh) NATSMonitorURL() string {
	return fmt.Sprintf("http://%s:%d", m.brokerHost(), m.ports.NATSHTTP)
}

// provisionStreams creates (or updates) the stream that captures every topic.
// Dapr never creates streams: a topic without one cannot be subscribed.
func provisionStreams(ctx context.Context, url string, subjects []string) error {
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.Context(ctx))
	if err != nil {
		return err
	}
	cfg := &nats.StreamConfig{
		Name:       StreamName,
		Subjects:   subjects,
		Storage:    nats.FileStorage,
		Retention:  nats.LimitsPolicy,
		MaxAge:     7 * 24 * time.Hour,
		Duplicates: 2 * time.Minute, // de-duplication window for Nats-Msg-Id (our event ids)
		Replicas:   1,
	}
	if _, err := js.StreamInfo(StreamName, nats.Context(ctx)); errors.Is(err, nats.ErrStreamNotFound) {
		_, err = js.AddStream(cfg, nats.Context(ctx))
		return err
	} else if err != nil {
		return err
	}
	_, err = js.UpdateStream(cfg, nats.Context(ctx))
	return err
}

func natsReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		nc, err := nats.Connect(url, nats.Timeout(time.Second))
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := nc.JetStream(nats.Context(ctx))
		if err != nil {
			return err
		}
		_, err = js.AccountInfo(nats.Context(ctx))
		return err
	}
}

// postgres is the runner's own PostgreSQL cluster, or an existing server the
// user points at with PG_URL.
type postgres struct {
	binDir  string
	dataDir string
	cred    *syscall.Credential // set when running as root
}

// findPostgres locates Debian's PostgreSQL binaries.
func findPostgres() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real), nil
		}
	}
	return "", errors.New("PostgreSQL is not installed (no initdb found): run `apt-get install postgresql`, or point the runner at a server with PG_URL=postgres://user@host:port")
}

func versionOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// newPostgres prepares a cluster directory. PostgreSQL refuses to run as root,
// so as root the cluster runs as the `postgres` user, in a directory that user
// can reach (a data directory under /root is not).
func newPostgres(dataDir string) (*postgres, error) {
	bin, err := findPostgres()
	if err != nil {
		return nil, err
	}
	pg := &postgres{binDir: bin, dataDir: filepath.Join(dataDir, "postgres")}
	if os.Geteuid() != 0 {
		return pg, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root, PostgreSQL must run as the `postgres` user, which does not exist: install the postgresql package")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if !reachableByOthers(dataDir) {
		sum := sha256.Sum256([]byte(dataDir))
		pg.dataDir = filepath.Join("/var/lib/tixmesh", hex.EncodeToString(sum[:6]), "postgres")
		if err := os.MkdirAll(filepath.Dir(pg.dataDir), 0o755); err != nil {
			return nil, err
		}
		// Leave a pointer for humans looking for the data.
		_ = os.WriteFile(filepath.Join(dataDir, "postgres-data-is-at"), []byte(pg.dataDir+"\n"), 0o644)
	}
	return pg, nil
}

// reachableByOthers reports whether every directory from / to dir lets other
// users through.
func reachableByOthers(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

// init runs initdb once.
func (pg *postgres) init(ctx context.Context, logPath string) error {
	if _, err := os.Stat(filepath.Join(pg.dataDir, "PG_VERSION")); err == nil {
		return nil
	}
	if err := os.MkdirAll(pg.dataDir, 0o700); err != nil {
		return err
	}
	if pg.cred != nil {
		if err := os.Chown(pg.dataDir, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(pg.binDir, "initdb"),
		"-D", pg.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(logPath, out, 0o644)
	if err != nil {
		return fmt.Errorf("initdb failed: %v\n%s", err, indent(strings.TrimSpace(string(out))))
	}
	return nil
}

func (m *Mesh) postgresProc(pg *postgres) *Proc {
	p := m.proc("postgres", "infra", filepath.Join(pg.binDir, "postgres"), []string{
		"-D", pg.dataDir,
		"-p", itoa(m.ports.Postgres),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "max_connections=300",
		"-c", "shared_buffers=64MB",
	})
	p.Credential = pg.cred
	p.Dir = pg.dataDir // the postgres user may not be allowed into the mesh's root
	return p
}

// PostgresURL is the admin URL of the cluster (or the user's PG_URL).
func (m *Mesh) PostgresURL(db string) string {
	if m.opts.PostgresURL != "" {
		u := strings.TrimRight(m.opts.PostgresURL, "/")
		if i := strings.LastIndex(u, "/"); i > len("postgres://") {
			u = u[:i]
		}
		return u + "/" + db
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", m.ports.Postgres, db)
}

func pgReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		return c.Ping(ctx)
	}
}

// createDatabases makes one database per service that owns a state store.
func createDatabases(ctx context.Context, adminURL string, names []string) error {
	c, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, name := range names {
		var exists bool
		if err := c.QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
			return err
		}
		if exists {
			continue
		}
		if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
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

func (m *Mesh) stripeMockProc() *Proc {
	return m.proc("stripe-mock", "infra", m.bin("stripe-mock"), []string{
		"-http-addr", fmt.Sprintf("127.0.0.1:%d", m.ports.StripeMock),
		"-https-addr", fmt.Sprintf("127.0.0.1:%d", m.ports.StripeTLS),
	})
}

// StripeURL is stripe-mock's base URL.
func (m *Mesh) StripeURL() string { return fmt.Sprintf("http://127.0.0.1:%d", m.ports.StripeMock) }

func httpReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s answered %d", url, resp.StatusCode)
		}
		return nil
	}
}

func tcpReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}
