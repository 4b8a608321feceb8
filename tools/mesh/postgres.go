package mesh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
)

// stateStores are the apps that own a state store, hence a database.
var stateStores = []string{"auth", "tickets", "orders", "payments", "expiration"}

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
