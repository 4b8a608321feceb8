package mesh

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// netnsListenEnv makes the test binary, run as a helper, an echo server on
// that address (see TestNetNSHelperEcho).
const netnsListenEnv = "TIXMESH_NETNS_ECHO"

// TestNetNSHelperEcho is not a test: run by TestNetNSCutAndHeal inside the
// namespace, it echoes lines on the address in netnsListenEnv until killed.
func TestNetNSHelperEcho(t *testing.T) {
	addr := os.Getenv(netnsListenEnv)
	if addr == "" {
		t.Skip("helper process only")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(3)
		}
		go func() { _, _ = io.Copy(c, c); c.Close() }()
	}
}

func needNetNS(t *testing.T) {
	t.Helper()
	if _, err := netnsAvailable(); err != nil {
		t.Skip(err)
	}
}

// echo dials addr, sends a line and reads it back, within limit.
func echo(addr string, limit time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, limit)
	if err != nil {
		return err
	}
	defer c.Close()
	return roundTrip(c, limit)
}

func roundTrip(c net.Conn, limit time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(limit))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return fmt.Errorf("echoed %q", line)
	}
	return nil
}

func eventuallyEcho(t *testing.T, addr string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := echo(addr, time.Second)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no echo from %s within %s: %v", addr, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// leftovers lists what of n is still on the machine.
func leftovers(n *netNS) []string {
	var out []string
	if b, _ := exec.Command(n.ip, "netns", "list").Output(); strings.Contains(string(b), n.Name) {
		out = append(out, "namespace "+n.Name)
	}
	if exec.Command(n.ip, "link", "show", n.HostIf).Run() == nil {
		out = append(out, "link "+n.HostIf)
	}
	if b, _ := exec.Command(n.ip, "-4", "route", "show", "type", "unreachable").Output(); strings.Contains(string(b), n.Subnet.String()) {
		out = append(out, "guard route "+n.Subnet.String())
	}
	if b, _ := exec.Command(n.ip, "-o", "-4", "addr").Output(); strings.Contains(string(b), n.HostIP.String()+"/") {
		out = append(out, "address "+n.HostIP.String())
	}
	return out
}

// TestNetNSCutAndHeal runs an echo server inside a namespace the way the mesh
// runs nats-server, and shows that the host reaches it, that a cut stops new
// and open connections alike (packets lost, nothing refused), that a heal lets
// both through again (the open connection resumes), that a kill and a
// restart hit the server itself and bring it back inside the namespace, and
// that removal leaves nothing behind.
func TestNetNSCutAndHeal(t *testing.T) {
	needNetNS(t)
	n, err := newNetNS()
	if err != nil {
		t.Fatal(err)
	}
	removed := false
	defer func() {
		if !removed {
			n.Remove()
		}
	}()
	if !n.Subnet.Contains(n.HostIP) || !n.Subnet.Contains(n.NSIP) || n.HostIP.Equal(n.NSIP) {
		t.Fatalf("addresses %s and %s in %s", n.HostIP, n.NSIP, n.Subnet)
	}
	ports, err := FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ports[0])
	addr := net.JoinHostPort(n.NSIP.String(), port)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{
		Name: "echo", Kind: "infra", Path: self, Args: []string{"-test.run=^TestNetNSHelperEcho$"},
		Env:     append(os.Environ(), netnsListenEnv+"="+addr),
		LogPath: filepath.Join(t.TempDir(), "echo.log"),
		netns:   n,
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	eventuallyEcho(t, addr, 10*time.Second)

	// The pid is the server's, not a wrapper's, and it lives in the namespace.
	checkInside := func() {
		t.Helper()
		// Compare the files, not the paths: under a chroot or an overlay the
		// kernel names the executable by its path outside.
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.Pid()))
		theirExe, err := os.Stat(fmt.Sprintf("/proc/%d/exe", p.Pid()))
		ourExe, err2 := os.Stat(self)
		if err != nil || err2 != nil || !os.SameFile(theirExe, ourExe) {
			t.Fatalf("pid %d runs %q (%v, %v), want the server %s itself", p.Pid(), exe, err, err2, self)
		}
		theirs, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", p.Pid()))
		ours, _ := os.Readlink("/proc/self/ns/net")
		if theirs == "" || theirs == ours {
			t.Fatalf("the server's network namespace is %q, ours %q", theirs, ours)
		}
	}
	checkInside()
	// Nothing listens on the port on loopback: the server is only in the namespace.
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		c.Close()
		t.Fatalf("something answers on 127.0.0.1:%s", port)
	}

	open, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if err := roundTrip(open, time.Second); err != nil {
		t.Fatal(err)
	}

	if err := n.Cut(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	err = echo(addr, 1500*time.Millisecond)
	if err == nil {
		t.Fatal("a new connection got through the cut")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Logf("new connection during the cut: timed out after %s", time.Since(t0).Round(10*time.Millisecond))
	} else {
		t.Logf("new connection during the cut: %v after %s", err, time.Since(t0).Round(10*time.Millisecond))
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("refused (%v): a cut loses packets, it does not answer", err)
	}
	// The open connection hangs: the line goes out but nothing comes back.
	_ = open.SetDeadline(time.Now().Add(time.Second))
	if _, err := open.Write([]byte("ping\n")); err != nil {
		t.Fatalf("write on the open connection during the cut: %v", err)
	}
	r := bufio.NewReader(open)
	if _, err := r.ReadString('\n'); err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read on the open connection during the cut: %v, want a timeout", err)
	}

	if err := n.Heal(); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	eventuallyEcho(t, addr, 10*time.Second)
	t.Logf("new connections work %s after the heal", time.Since(t0).Round(10*time.Millisecond))
	// The line sent during the cut is retransmitted and echoed.
	_ = open.SetDeadline(time.Now().Add(15 * time.Second))
	if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("the open connection after the heal: %q, %v", line, err)
	}
	t.Logf("the open connection resumed %s after the heal", time.Since(t0).Round(10*time.Millisecond))

	// Kill reaches the server itself; a start puts it back in the namespace.
	pid := p.Pid()
	p.Kill()
	if processAlive(pid) {
		t.Fatalf("pid %d survived the kill", pid)
	}
	if b, _ := exec.Command(n.ip, "netns", "pids", n.Name).Output(); strings.TrimSpace(string(b)) != "" {
		t.Fatalf("processes left in %s after the kill: %s", n.Name, b)
	}
	if err := echo(addr, time.Second); err == nil {
		t.Fatal("an echo with the server killed")
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	eventuallyEcho(t, addr, 10*time.Second)
	checkInside()

	n.Remove()
	removed = true
	if left := leftovers(n); len(left) > 0 {
		t.Fatalf("left behind: %s", strings.Join(left, ", "))
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the server outlived its namespace's removal")
	}
}

// TestNetNSCleansUpAfterDeadRunner leaves a namespace as a runner killed with
// SIGKILL would, and checks that the next one made cleans it up, while it
// leaves the namespace of a live runner alone.
func TestNetNSCleansUpAfterDeadRunner(t *testing.T) {
	needNetNS(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale, err := createNetNS(dead.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Remove()
	live, err := newNetNS()
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()
	if b, _ := exec.Command(live.ip, "netns", "list").Output(); strings.Contains(string(b), stale.Name) {
		t.Fatalf("the dead runner's namespace %s is still there", stale.Name)
	}
	// Its /30 is free again, so the first free one: its link, address and
	// guard route went with it.
	if live.Subnet.String() != stale.Subnet.String() || live.HostIf != stale.HostIf {
		t.Fatalf("the dead runner had %s on %s, the next one got %s on %s", stale.Subnet, stale.HostIf, live.Subnet, live.HostIf)
	}
	again, err := newNetNS()
	if err != nil {
		t.Fatal(err)
	}
	defer again.Remove()
	if len(leftovers(live)) != 4 {
		t.Fatalf("the live runner's namespace was touched: only %v left", leftovers(live))
	}
	if again.Subnet.String() == live.Subnet.String() || again.HostIf == live.HostIf {
		t.Fatalf("two namespaces share %s / %s", again.Subnet, again.HostIf)
	}
}

func TestIsolateBrokerOnlyForJetStream(t *testing.T) {
	_, err := Up(context.Background(), Options{RepoDir: "../..", Root: t.TempDir(), Broker: Redis, IsolateBroker: true})
	if err == nil || !strings.Contains(err.Error(), "IsolateBroker") {
		t.Fatalf("Up with IsolateBroker on redis: %v", err)
	}
}

func TestSubnets(t *testing.T) {
	for idx, want := range map[int]string{0: "10.213.0.0/30", 1: "10.213.0.4/30", 64: "10.213.1.0/30", 16383: "10.213.255.252/30"} {
		if got := subnetOf(idx).String(); got != want {
			t.Errorf("subnetOf(%d) = %s, want %s", idx, got, want)
		}
		if back, ok := subnetIndex(want); !ok || back != idx {
			t.Errorf("subnetIndex(%s) = %d, %v", want, back, ok)
		}
	}
	if pid, idx, ok := parseNetNSName("tixmesh-123-45"); !ok || pid != 123 || idx != 45 {
		t.Errorf("parseNetNSName = %d, %d, %v", pid, idx, ok)
	}
	for _, bad := range []string{"tixmesh-x-1", "other-1-2", "tixmesh-1", "tixmesh-1-99999"} {
		if _, _, ok := parseNetNSName(bad); ok {
			t.Errorf("parseNetNSName(%q) ok", bad)
		}
	}
}

// TestIsolatedBrokerMesh (TIXMESH_NETNS_MESH=1; root; minutes the first time,
// as it builds the runtime) starts the whole mesh with the broker isolated,
// cuts the broker off for 5 s (TIXMESH_NETNS_CUT=30s for longer) while a user
// lists a ticket, heals, and checks
// that the sidecars recover: the event held back by the cut reaches its
// consumer, new listings flow again, and nothing is left behind.
func TestIsolatedBrokerMesh(t *testing.T) {
	if os.Getenv("TIXMESH_NETNS_MESH") == "" {
		t.Skip("set TIXMESH_NETNS_MESH=1 to run the whole mesh with the broker cut off")
	}
	needNetNS(t)
	cutFor := 5 * time.Second
	if v := os.Getenv("TIXMESH_NETNS_CUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("TIXMESH_NETNS_CUT=%s: %v", v, err)
		}
		cutFor = d
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	m, err := Up(ctx, Options{
		RepoDir: repo, Root: root, FreePorts: true, IsolateBroker: true, Progress: os.Stderr,
		Env: map[string]string{"AUTH_RATE_PER_SECOND": "1000", "AUTH_RATE_BURST": "1000", "BCRYPT_COST": "4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ns := m.netns
	destroyed := false
	defer func() {
		if !destroyed {
			m.Destroy()
		}
	}()
	if !strings.Contains(m.NATSURL(), ns.NSIP.String()) {
		t.Fatalf("NATSURL %s is not in the namespace (%s)", m.NATSURL(), ns.NSIP)
	}
	if url, _ := m.Secret("nats-url"); url != m.NATSURL() {
		t.Fatalf("the sidecars' nats-url is %q, want %s", url, m.NATSURL())
	}
	c := newMeshClient(t, m.URL())
	c.do("POST", "/api/users/signup", `{"email":"cut@example.com","password":"password"}`, 201)
	before := c.listTicket("before the cut")
	waitConsumedAll(t, m, 30*time.Second)
	cidsBefore := natsClients(t, m)
	t.Logf("NATS clients before the cut: %d", len(cidsBefore))

	if err := m.Control().CutBroker(); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	if err := natsReady(m.NATSURL())(ctx); err == nil {
		t.Error("the runner reached NATS through the cut")
	} else {
		t.Logf("the runner's NATS connect during the cut: %v after %s", err, since(cut))
	}
	t0 := time.Now()
	during := c.listTicket("during the cut")
	t.Logf("POST /api/tickets during the cut: 201 after %s (state committed, event left in the outbox)", since(t0))
	t0 = time.Now()
	c.do("GET", "/api/tickets/"+before, "", 200)
	t.Logf("GET /api/tickets/{id} during the cut: 200 after %s", since(t0))
	time.Sleep(time.Until(cut.Add(cutFor)))
	if err := m.Control().HealBroker(); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	t.Logf("healed after a %s cut", since(cut))

	deadline := time.Now().Add(2 * time.Minute)
	for !published(t, m, "ticket:created", during) {
		if time.Now().After(deadline) {
			t.Fatal("the event held back by the cut never reached the stream")
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the event held back by the cut is in the stream %s after the heal", since(healed))
	waitConsumedAll(t, m, 2*time.Minute)
	t.Logf("every consumer caught up %s after the heal", since(healed))
	t0 = time.Now()
	after := c.listTicket("after the heal")
	t.Logf("POST /api/tickets after the heal: %s", since(t0))
	waitConsumedAll(t, m, time.Minute)
	t.Logf("its event consumed %s after the heal", since(healed))
	for _, id := range []string{before, during, after} {
		c.do("GET", "/api/tickets/"+id, "", 200)
	}
	cidsAfter := natsClients(t, m)
	kept := 0
	for cid := range cidsBefore {
		if cidsAfter[cid] {
			kept++
		}
	}
	t.Logf("NATS clients after the heal: %d, of which %d are the same connections as before the cut", len(cidsAfter), kept)
	for _, name := range []string{"tickets", "tickets-daprd", "orders-daprd"} {
		if lines := logLinesSince(m.Proc(name).LogPath, cut, "nats", "publish", "reconnect", "disconnect"); lines != "" {
			t.Logf("%s during and after the cut:\n%s", name, lines)
		}
	}

	// A kill and a restart of the isolated broker keep it in its namespace.
	if err := m.Control().Restart(ctx, "nats"); err != nil {
		t.Fatal(err)
	}
	theirs, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", m.Proc("nats").Pid()))
	ours, _ := os.Readlink("/proc/self/ns/net")
	if theirs == ours {
		t.Fatal("the restarted nats-server runs in the root namespace")
	}
	c.listTicket("after the restart")
	waitConsumedAll(t, m, 2*time.Minute)

	m.Destroy()
	destroyed = true
	if left := leftovers(ns); len(left) > 0 {
		t.Fatalf("left behind: %s", strings.Join(left, ", "))
	}
}

// meshClient is a signed-in user of the public origin.
type meshClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newMeshClient(t *testing.T, base string) *meshClient {
	jar, _ := cookiejar.New(nil)
	return &meshClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
}

func (c *meshClient) do(method, path, body string, want int) []byte {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return b
}

func (c *meshClient) listTicket(title string) string {
	c.t.Helper()
	var tk struct {
		ID string `json:"id"`
	}
	b := c.do("POST", "/api/tickets", fmt.Sprintf(`{"title":%q,"price":10}`, title), 201)
	if err := json.Unmarshal(b, &tk); err != nil || tk.ID == "" {
		c.t.Fatalf("POST /api/tickets: %s (%v)", b, err)
	}
	return tk.ID
}

func waitConsumedAll(t *testing.T, m *Mesh, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for _, s := range sortedSubs(m.subs) {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			ok, err := m.Consumed(ctx, s.Component)
			cancel()
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s has not consumed everything after %s (%v)", s.Component, limit, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func published(t *testing.T, m *Mesh, topic, id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := m.Published(ctx, topic)
	if err != nil {
		return false
	}
	for _, b := range msgs {
		if strings.Contains(string(b), id) {
			return true
		}
	}
	return false
}

// natsClients returns the ids of the broker's client connections.
func natsClients(t *testing.T, m *Mesh) map[uint64]bool {
	t.Helper()
	resp, err := http.Get(m.NATSMonitorURL() + "/connz?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Connections []struct {
			CID uint64 `json:"cid"`
		} `json:"connections"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := map[uint64]bool{}
	for _, c := range body.Connections {
		out[c.CID] = true
	}
	return out
}

// logLinesSince returns the lines of a log written since t (judged by their
// leading RFC 3339 or slog time) that mention any of words.
func logLinesSince(path string, since time.Time, words ...string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		lower := strings.ToLower(line)
		match := false
		for _, w := range words {
			match = match || strings.Contains(lower, w)
		}
		if !match {
			continue
		}
		if ts := logTime(line); ts.IsZero() || ts.Before(since) {
			continue
		}
		if len(line) > 400 {
			line = line[:400] + "..."
		}
		out = append(out, "    "+line)
	}
	if len(out) > 30 {
		out = append(out[:30], fmt.Sprintf("    ... and %d more", len(out)-30))
	}
	return strings.Join(out, "\n")
}

var logTimeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)

func logTime(line string) time.Time {
	s := logTimeRE.FindString(line)
	ts, _ := time.Parse(time.RFC3339Nano, s)
	return ts
}
