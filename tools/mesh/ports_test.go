package mesh

import (
	"net"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// ephemeralStart is where Linux's default ephemeral port range begins
// (net.ipv4.ip_local_port_range 32768 60999): a fixed port there can be held
// by any outgoing connection just when a process wants to listen on it (seen:
// a sidecar's gRPC port 50102 taken by a connection to NATS).
const ephemeralStart = 32768

func TestTheFixedPortsAreBelowTheEphemeralRange(t *testing.T) {
	ports := DefaultPorts()
	v := reflect.ValueOf(ports)
	for i := range v.NumField() {
		if p := int(v.Field(i).Int()); p >= ephemeralStart {
			t.Errorf("default port %s = %d is in the ephemeral range", v.Type().Field(i).Name, p)
		}
	}
	rf, err := LoadRunFile(filepath.Join("..", "..", "dapr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rf.Apps {
		for name, p := range map[string]int{"app": a.AppPort, "dapr http": a.DaprHTTPPort, "dapr grpc": a.DaprGRPCPort, "metrics": a.MetricsPort} {
			if p >= ephemeralStart {
				t.Errorf("dapr.yaml: %s %s port %d is in the ephemeral range", a.AppID, name, p)
			}
		}
	}
	for _, hp := range []string{rf.Common.PlacementHostAddress, rf.Common.SchedulerHostAddress} {
		_, port, err := net.SplitHostPort(hp)
		if n, _ := strconv.Atoi(port); err != nil || n >= ephemeralStart {
			t.Errorf("dapr.yaml: %q is in the ephemeral range (or not host:port)", hp)
		}
	}
}

func TestFreePortsAreOutsideTheEphemeralRange(t *testing.T) {
	ports, err := FreePorts(50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p >= ephemeralStart || p < freePortsFrom || seen[p] {
			t.Errorf("free port %d: want distinct ports in %d-%d", p, freePortsFrom, ephemeralStart-1)
		}
		seen[p] = true
	}
}
