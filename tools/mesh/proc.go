package mesh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one supervised process with its own log file.
type Proc struct {
	Name    string // e.g. "nats", "orders", "orders-daprd"
	Kind    string // infra, app, sidecar
	Path    string
	Args    []string
	Env     []string
	Dir     string
	LogPath string
	// Credential, when set, runs the process as another user (PostgreSQL
	// refuses to run as root).
	Credential *syscall.Credential
	// netns, when set, runs the process inside that network namespace, on
	// every start (`ip netns exec` execs the command: the pid, hence the
	// process group and the signals, are the command's own).
	netns *netNS

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	stopped bool
	log     *os.File
}

// Start launches the process in its own process group, appending its output to
// its log file.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(p.LogPath), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	path, args := p.Path, p.Args
	if p.netns != nil {
		path, args = p.netns.Exec(path, args)
	}
	fmt.Fprintf(f, "\n==== %s: starting %s %s\n", time.Now().Format(time.RFC3339), path, strings.Join(args, " "))
	cmd := exec.Command(path, args...)
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group: a Ctrl-C in the terminal reaches the runner only, and
	// the runner stops everything in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.Credential, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.cmd, p.log, p.done, p.err, p.stopped = cmd, f, make(chan struct{}), nil, false
	go func(cmd *exec.Cmd, done chan struct{}, f *os.File) {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		f.Close()
		close(done)
	}(cmd, p.done, f)
	return nil
}

// Pid returns the process id, or 0 when not running.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Done is closed when the process exits.
func (p *Proc) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Exited reports whether the process has exited, and how.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.err
	default:
		return false, nil
	}
}

// Stop sends SIGTERM to the process group and waits up to grace for it to
// exit, then kills it.
func (p *Proc) Stop(grace time.Duration) {
	p.signal(syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(grace):
		p.signal(syscall.SIGKILL)
		<-p.Done()
	}
}

// Kill sends SIGKILL to the process group and waits for the exit.
func (p *Proc) Kill() {
	p.signal(syscall.SIGKILL)
	<-p.Done()
}

// Signal sends sig to the process group (for fault tests: SIGSTOP, SIGCONT).
func (p *Proc) Signal(sig syscall.Signal) { p.signal(sig) }

func (p *Proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	if sig == syscall.SIGTERM || sig == syscall.SIGKILL {
		p.stopped = true
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Tail returns the last n lines of the process's log.
func (p *Proc) Tail(n int) string {
	f, err := os.Open(p.LogPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	const max = 64 << 10
	off := st.Size() - max
	if off < 0 {
		off = 0
	}
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

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

func indent(s string) string {
	if s == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
