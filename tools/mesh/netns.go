package mesh

// A network cut on one machine: the broker runs in a network namespace of its
// own, joined to the root namespace by a veth pair, and the fault tests take
// that link down and up again. Everything stays on this machine: the pair's
// /30 is private, and a guard route keeps packets for it from ever leaving by
// the default route.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoNetNS says that this machine, or this user, cannot make network
// namespaces (not root, no `ip` command, no kernel support): callers skip the
// network-cut fault when errors.Is(err, ErrNoNetNS).
var ErrNoNetNS = errors.New("network namespaces are not available")

const (
	// netnsPrefix begins the name of every namespace a runner makes:
	// tixmesh-<runner pid>-<subnet index>.
	netnsPrefix = "tixmesh-"
	// hostIfPrefix begins the name of the veth's end in the root namespace:
	// tmx<subnet index> (an interface name has at most 15 bytes).
	hostIfPrefix = "tmx"
	// nsIf is the veth's end inside the namespace.
	nsIf = "veth0"
	// guardMetric marks the guard routes: unreachable routes for a pair's /30,
	// behind its connected route, so that whatever happens to the veth the
	// packets for it never take the default route off the machine.
	guardMetric = 4213
	// netnsBase is the private range the pairs' /30s come from.
	netnsBase = "10.213.0.0/16"
)

// netNS is one network namespace of this run and the veth pair that joins it
// to the root namespace: HostIP on HostIf in the root namespace, NSIP on veth0
// inside it, both in one /30.
type netNS struct {
	Name   string // tixmesh-<pid>-<index>
	HostIf string // tmx<index>
	HostIP net.IP
	NSIP   net.IP
	Subnet *net.IPNet
	ip     string // the `ip` command
}

// netnsAvailable reports why namespaces cannot be made here, wrapping
// ErrNoNetNS, or returns the path of the `ip` command.
func netnsAvailable() (string, error) {
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%w: isolating the broker needs root (network namespaces and veth pairs)", ErrNoNetNS)
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return "", fmt.Errorf("%w: isolating the broker needs the `ip` command (iproute2: apt-get install iproute2)", ErrNoNetNS)
	}
	return ip, nil
}

// newNetNS cleans up what crashed runs left behind, then makes a namespace
// for this process with a veth pair on a free /30, lo and both ends up. On
// error nothing is left.
func newNetNS() (*netNS, error) { return createNetNS(os.Getpid()) }

// createNetNS is newNetNS for the runner with the given pid (tests make
// namespaces "of" a dead runner to check the clean-up).
func createNetNS(pid int) (n *netNS, err error) {
	ip, err := netnsAvailable()
	if err != nil {
		return nil, err
	}
	unlock, err := netnsLock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	cleanStaleNetNS(ip)
	idx, subnet, err := freeSubnet(ip)
	if err != nil {
		return nil, err
	}
	base := subnet.IP.To4()
	n = &netNS{
		Name:   fmt.Sprintf("%s%d-%d", netnsPrefix, pid, idx),
		HostIf: fmt.Sprintf("%s%d", hostIfPrefix, idx),
		HostIP: net.IPv4(base[0], base[1], base[2], base[3]+1).To4(),
		NSIP:   net.IPv4(base[0], base[1], base[2], base[3]+2).To4(),
		Subnet: subnet,
		ip:     ip,
	}
	if out, err := n.run("netns", "add", n.Name); err != nil {
		return nil, fmt.Errorf("%w: `ip netns add` failed: %v: %s", ErrNoNetNS, err, out)
	}
	defer func() {
		if err != nil {
			n.removeLocked()
		}
	}()
	const prefix = "/30"
	for _, args := range [][]string{
		{"link", "add", n.HostIf, "type", "veth", "peer", "name", nsIf, "netns", n.Name},
		{"addr", "add", n.HostIP.String() + prefix, "dev", n.HostIf},
		{"link", "set", n.HostIf, "up"},
		{"route", "add", "unreachable", subnet.String(), "metric", strconv.Itoa(guardMetric)},
		{"-n", n.Name, "link", "set", "lo", "up"},
		{"-n", n.Name, "addr", "add", n.NSIP.String() + prefix, "dev", nsIf},
		{"-n", n.Name, "link", "set", nsIf, "up"},
	} {
		if out, err := n.run(args...); err != nil {
			return nil, fmt.Errorf("setting up network namespace %s: ip %s: %v: %s", n.Name, strings.Join(args, " "), err, out)
		}
	}
	if err := n.waitCarrier(5 * time.Second); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *netNS) run(args ...string) (string, error) {
	out, err := exec.Command(n.ip, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Cut takes the link down. It is the namespace's end that goes down: the host
// end then has no carrier but keeps its route, so packets to the namespace are
// lost, as on a cut wire (existing connections hang, new ones time out, then
// fail with "no route to host" once ARP gives up). Taking the host end down
// instead would drop the host's route to the /30, and only the guard route
// would stand between the packets and the default route.
func (n *netNS) Cut() error {
	if out, err := n.run("-n", n.Name, "link", "set", nsIf, "down"); err != nil {
		return fmt.Errorf("cutting %s: %v: %s", n.Name, err, out)
	}
	return nil
}

// Heal brings the link up again, puts back the namespace's route to the /30
// should the kernel not have, and waits until the host end has its carrier.
func (n *netNS) Heal() error {
	if out, err := n.run("-n", n.Name, "link", "set", nsIf, "up"); err != nil {
		return fmt.Errorf("healing %s: %v: %s", n.Name, err, out)
	}
	if out, err := n.run("-n", n.Name, "route", "show", n.Subnet.String(), "dev", nsIf); err == nil && out == "" {
		if out, err := n.run("-n", n.Name, "route", "replace", n.Subnet.String(), "dev", nsIf, "src", n.NSIP.String()); err != nil {
			return fmt.Errorf("healing %s: restoring its route: %v: %s", n.Name, err, out)
		}
	}
	return n.waitCarrier(5 * time.Second)
}

// waitCarrier waits until the host end is up with a carrier (a veth's end
// reports it a moment after its peer comes up).
func (n *netNS) waitCarrier(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		b, err := os.ReadFile(filepath.Join("/sys/class/net", n.HostIf, "operstate"))
		if err == nil && strings.TrimSpace(string(b)) == "up" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the link to network namespace %s is not up after %s (operstate %q, %v)", n.Name, limit, strings.TrimSpace(string(b)), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Exec wraps a command so that it runs inside the namespace. `ip netns exec`
// execs the command in its own process, so the pid is the command's, and
// signals reach it, not a wrapper.
func (n *netNS) Exec(path string, args []string) (string, []string) {
	return n.ip, append([]string{"netns", "exec", n.Name, path}, args...)
}

// Remove kills whatever still runs inside the namespace, then deletes the
// veth pair, the guard route and the namespace.
func (n *netNS) Remove() {
	if n == nil {
		return
	}
	unlock, err := netnsLock()
	if err == nil {
		defer unlock()
	}
	n.removeLocked()
}

func (n *netNS) removeLocked() {
	removeNetNS(n.ip, n.Name, n.HostIf, n.Subnet)
}

// removeNetNS deletes one namespace and what goes with it; each step may find
// its object gone already.
func removeNetNS(ip, name, hostIf string, subnet *net.IPNet) {
	if out, err := exec.Command(ip, "netns", "pids", name).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_ = exec.Command(ip, "link", "del", hostIf).Run()
	if subnet != nil {
		_ = exec.Command(ip, "route", "del", "unreachable", subnet.String(), "metric", strconv.Itoa(guardMetric)).Run()
	}
	_ = exec.Command(ip, "netns", "del", name).Run()
}

// netnsLock serialises the runners of this machine while they pick subnets,
// make namespaces and clean up after crashed runs.
func netnsLock() (func(), error) {
	path := "/run/tixmesh-netns.lock"
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		f, err = os.OpenFile(filepath.Join(os.TempDir(), "tixmesh-netns.lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, err
		}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// subnetOf is the /30 of index idx in netnsBase.
func subnetOf(idx int) *net.IPNet {
	_, base, _ := net.ParseCIDR(netnsBase)
	b := base.IP.To4()
	off := idx * 4
	return &net.IPNet{IP: net.IPv4(b[0], b[1], byte(off>>8), byte(off)).To4(), Mask: net.CIDRMask(30, 32)}
}

// freeSubnet picks the first /30 of netnsBase that overlaps no address and no
// route of the root namespace (any table), the default route aside.
func freeSubnet(ip string) (int, *net.IPNet, error) {
	var taken []*net.IPNet
	out, err := exec.Command(ip, "-j", "-4", "addr", "show").Output()
	if err != nil {
		return 0, nil, fmt.Errorf("ip -j -4 addr show: %w", err)
	}
	var links []struct {
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return 0, nil, fmt.Errorf("ip -j -4 addr show: %w", err)
	}
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if _, n, err := net.ParseCIDR(fmt.Sprintf("%s/%d", a.Local, a.PrefixLen)); err == nil {
				taken = append(taken, n)
			}
		}
	}
	out, err = exec.Command(ip, "-j", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return 0, nil, fmt.Errorf("ip -j -4 route show table all: %w", err)
	}
	var routes []struct {
		Dst string `json:"dst"`
	}
	if err := json.Unmarshal(out, &routes); err != nil {
		return 0, nil, fmt.Errorf("ip -j -4 route show table all: %w", err)
	}
	for _, r := range routes {
		if r.Dst == "" || r.Dst == "default" {
			continue
		}
		d := r.Dst
		if !strings.Contains(d, "/") {
			d += "/32"
		}
		if _, n, err := net.ParseCIDR(d); err == nil {
			ones, _ := n.Mask.Size()
			if ones > 0 {
				taken = append(taken, n)
			}
		}
	}
	for idx := range 1 << 14 {
		s := subnetOf(idx)
		free := true
		for _, t := range taken {
			if t.Contains(s.IP) || s.Contains(t.IP) {
				free = false
				break
			}
		}
		if free {
			return idx, s, nil
		}
	}
	return 0, nil, fmt.Errorf("no free /30 left in %s", netnsBase)
}

// cleanStaleNetNS deletes the namespaces of runners that are gone (a crash or
// a kill -9 skips their clean-up), and veth ends and guard routes that belong
// to no namespace. Call it holding netnsLock.
func cleanStaleNetNS(ip string) {
	live := map[int]bool{} // subnet indexes of namespaces whose runner lives
	out, _ := exec.Command(ip, "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		pid, idx, ok := parseNetNSName(name)
		if !ok {
			continue
		}
		if pid == os.Getpid() || processAlive(pid) {
			live[idx] = true
			continue
		}
		removeNetNS(ip, name, fmt.Sprintf("%s%d", hostIfPrefix, idx), subnetOf(idx))
	}
	// Ends whose namespace is gone (its peer went with it only if nothing held
	// the namespace).
	if out, err := exec.Command(ip, "-j", "link", "show", "type", "veth").Output(); err == nil {
		var links []struct {
			IfName string `json:"ifname"`
		}
		_ = json.Unmarshal(out, &links)
		for _, l := range links {
			if idx, ok := parseHostIf(l.IfName); ok && !live[idx] {
				_ = exec.Command(ip, "link", "del", l.IfName).Run()
			}
		}
	}
	// Guard routes whose namespace is gone.
	if out, err := exec.Command(ip, "-j", "-4", "route", "show", "type", "unreachable").Output(); err == nil {
		var routes []struct {
			Dst    string `json:"dst"`
			Metric int    `json:"metric"`
		}
		_ = json.Unmarshal(out, &routes)
		for _, r := range routes {
			if r.Metric != guardMetric {
				continue
			}
			if idx, ok := subnetIndex(r.Dst); ok && !live[idx] {
				_ = exec.Command(ip, "route", "del", "unreachable", r.Dst, "metric", strconv.Itoa(guardMetric)).Run()
			}
		}
	}
}

// subnetIndex is the index of a /30 of netnsBase written as a prefix.
func subnetIndex(prefix string) (int, bool) {
	ip, n, err := net.ParseCIDR(prefix)
	if err != nil {
		return 0, false
	}
	if ones, _ := n.Mask.Size(); ones != 30 {
		return 0, false
	}
	_, base, _ := net.ParseCIDR(netnsBase)
	if !base.Contains(ip) {
		return 0, false
	}
	b := ip.To4()
	return (int(b[2])<<8 | int(b[3])) / 4, true
}

// parseNetNSName splits tixmesh-<pid>-<index>.
func parseNetNSName(name string) (pid, idx int, ok bool) {
	rest, found := strings.CutPrefix(name, netnsPrefix)
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, "-")
	if !found {
		return 0, 0, false
	}
	pid, err1 := strconv.Atoi(a)
	idx, err2 := strconv.Atoi(b)
	return pid, idx, err1 == nil && err2 == nil && pid > 0 && idx >= 0 && idx < 1<<14
}

// parseHostIf reads the index of tmx<index>.
func parseHostIf(name string) (int, bool) {
	rest, found := strings.CutPrefix(name, hostIfPrefix)
	if !found {
		return 0, false
	}
	idx, err := strconv.Atoi(rest)
	return idx, err == nil && idx >= 0 && idx < 1<<14
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
