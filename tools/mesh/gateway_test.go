package mesh

import (
	"path/filepath"
	"testing"
)

func TestIngressRoutesMatchLikeKubernetesPrefixes(t *testing.T) {
	routes, err := LoadRoutes(filepath.Join("..", "..", IngressPath))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ path, want string }{
		{"/api/users/signup", "auth"},
		{"/api/users", "auth"},
		{"/api/tickets/abc", "tickets"},
		{"/api/orders", "orders"},
		{"/api/payments/webhook", "payments"},
		{"/api/usersx", "client"}, // a prefix matches whole path elements only
		{"/", "client"},
		{"/orders/o1", "client"},
	}
	for _, tc := range cases {
		r, ok := Match(routes, tc.path)
		if !ok || r.Service != tc.want {
			t.Errorf("%s -> %q (matched %v), want %s", tc.path, r.Service, ok, tc.want)
		}
	}
}

func TestEveryIngressBackendIsAnAppOfDaprYAML(t *testing.T) {
	rf, err := LoadRunFile(filepath.Join("..", "..", "dapr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, err := LoadRoutes(filepath.Join("..", "..", IngressPath))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		a, ok := rf.App(r.Service)
		if !ok {
			t.Errorf("route %s goes to %q, which is not an app in dapr.yaml", r.Prefix, r.Service)
			continue
		}
		if a.AppPort != r.Port {
			t.Errorf("route %s: service port %d, but dapr.yaml runs %s on %d", r.Prefix, r.Port, a.AppID, a.AppPort)
		}
	}
}

func TestMergeEnvOverrides(t *testing.T) {
	got := mergeEnv([]string{"A=1", "B=2"}, map[string]string{"B": "3", "C": "4"})
	want := map[string]bool{"A=1": true, "B=3": true, "C=4": true}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for _, kv := range got {
		if !want[kv] {
			t.Errorf("unexpected %s in %v", kv, got)
		}
	}
}
