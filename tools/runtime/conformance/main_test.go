// Package conformance runs Dapr's own conformance suites (components-contrib
// tests/conformance, state and pub/sub, at the version tools/runtime builds)
// against this project's patched components, plus tests of its own for what
// the suites do not reach. See README.md.
//
// It starts its own PostgreSQL (initdb in a temporary directory) and NATS
// JetStream (the nats-server tools/runtime/build.sh builds) on free ports, and
// removes them when done: `make test-runtime`, or
//
//	cd tools/runtime/conformance && GOWORK=off go test -count=1 .
package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
)

var (
	pgAddr  string // 127.0.0.1:<port>: the test's own PostgreSQL cluster
	pgURL   string // its URL
	natsURL string // nats://...: the test's own JetStream server
)

// pgURLVia is the URL of the test's database reached at addr (the server's
// address, or a proxy's).
func pgURLVia(addr string) string {
	return "postgres://postgres@" + addr + "/postgres?sslmode=disable"
}

// upstream reports whether the tests should also run upstream's unpatched
// components, to show the bugs the patches fix (CONFORMANCE_UPSTREAM=1). Those
// runs are expected to fail where README.md says.
func upstream() bool { return os.Getenv("CONFORMANCE_UPSTREAM") == "1" }

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tixmesh-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	stop, err := startPostgres(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance: PostgreSQL:", err)
		return 1
	}
	stops = append(stops, stop)
	if err := startNATS(dir); err != nil {
		fmt.Fprintln(os.Stderr, "conformance: NATS:", err)
		return 1
	}
	stops = append(stops, func() { natsStop() })
	return m.Run()
}

// freePort is a port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startProc starts a server the tests need; stop ends it and waits.
func startProc(cmd *exec.Cmd, logPath string) (stop func(), err error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL // never outlive the test binary
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	return func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}, nil
}

// waitFor polls ready until it succeeds or the deadline passes.
func waitFor(what, logPath string, ready func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			tail, _ := os.ReadFile(logPath)
			return fmt.Errorf("%s not ready after 30 s: %v\n%s", what, err, tail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startPostgres runs initdb and postgres in dir on a free port (as the
// postgres user when root, which PostgreSQL requires).
func startPostgres(dir string) (stop func(), err error) {
	bin, err := findPostgres()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "pg")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("running as root, PostgreSQL must run as the postgres user, which does not exist")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(dir, 0o755); err != nil { // the postgres user must reach data
			return nil, err
		}
		if err := os.Chown(data, uid, gid); err != nil {
			return nil, err
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off",
		"-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
	cmd.Dir = data
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	logPath := filepath.Join(dir, "postgres.log")
	stop, err = startProc(cmd, logPath)
	if err != nil {
		return nil, err
	}
	pgAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	pgURL = pgURLVia(pgAddr)
	err = waitFor("PostgreSQL", logPath, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, pgURL)
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

func findPostgres() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL is not installed (no initdb): apt-get install postgresql")
}

// natsServer is the nats-server binary: NATS_SERVER, else the one
// tools/runtime/build.sh keeps beside daprd (it builds it if need be).
func natsServer() (string, error) {
	if p := os.Getenv("NATS_SERVER"); p != "" {
		return p, nil
	}
	out, err := exec.Command("bash", "../build.sh").Output()
	if err != nil {
		return "", fmt.Errorf("tools/runtime/build.sh: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return filepath.Join(lines[len(lines)-1], "nats-server"), nil
}

// The NATS server: how to start it again (same port, same storage) and stop it.
var (
	natsCmd  func() *exec.Cmd
	natsLog  string
	natsStop func()
)

// startNATS runs a JetStream server in dir on a free port, with the streams
// the tests publish to.
func startNATS(dir string) error {
	bin, err := natsServer()
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	natsCmd = func() *exec.Cmd {
		return exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", filepath.Join(dir, "nats"), "-m", "0")
	}
	natsLog = filepath.Join(dir, "nats.log")
	natsURL = fmt.Sprintf("nats://127.0.0.1:%d", port)
	if err := runNATS(); err != nil {
		return err
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return err
	}
	// Dapr never creates streams: one for the suite's topics, one for the
	// tests of our own (see ownTopic).
	for name, subject := range map[string]string{"CONFORMANCE": "conf.>", "OWN": "own.>"} {
		if _, err := js.AddStream(&nats.StreamConfig{Name: name, Subjects: []string{subject}}); err != nil {
			return err
		}
	}
	return nil
}

// runNATS starts the server and waits until it answers.
func runNATS() error {
	stop, err := startProc(natsCmd(), natsLog)
	if err != nil {
		return err
	}
	natsStop = stop
	return waitFor("NATS", natsLog, func() error {
		nc, err := nats.Connect(natsURL)
		if err == nil {
			nc.Close()
		}
		return err
	})
}

// restartNATS stops the server and starts it again on the same port with the
// same storage (streams and durable consumers survive, as in a broker restart).
func restartNATS(t *testing.T) {
	t.Helper()
	natsStop()
	if err := runNATS(); err != nil {
		t.Fatal(err)
	}
}
