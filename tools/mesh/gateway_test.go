package mesh

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHTTPRouteMatchesLikeGatewayAPIPrefixes(t *testing.T) {
	routes, err := LoadRoutes(filepath.Join("..", "..", RoutesPath))
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

func TestEveryRouteBackendIsAnAppOfDaprYAML(t *testing.T) {
	rf, err := LoadRunFile(filepath.Join("..", "..", "dapr.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	routes, err := LoadRoutes(filepath.Join("..", "..", RoutesPath))
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 5 {
		t.Errorf("%d routes, want the five of the routing table: %v", len(routes), routes)
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

// writeRoutes writes a manifest for LoadRoutes: a Gateway, then the given
// HTTPRoute spec.
func writeRoutes(t *testing.T, spec string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	doc := "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: g\nspec:\n  gatewayClassName: c\n  listeners: []\n" +
		"---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r\nspec:\n" + spec
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadRoutesReadsTheHTTPRouteOnly(t *testing.T) {
	path := writeRoutes(t, `  rules:
    - backendRefs: [{name: client, port: 3000}]
    - matches: [{path: {type: PathPrefix, value: /api/a}}, {path: {value: /api/b}}]
      backendRefs: [{name: a, port: 3001}]
    - matches: [{path: {type: PathPrefix, value: /api/a}}]
      backendRefs: [{name: later, port: 3009}]
`)
	routes, err := LoadRoutes(path)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(routes))
	for i, r := range routes {
		got[i] = r.Prefix + "=" + r.Service
	}
	// no matches is every path; the first rule for a prefix wins; longest first
	if want := "/api/a=a /api/b=a /=client"; strings.Join(got, " ") != want {
		t.Errorf("routes %v, want %s", got, want)
	}
}

func TestLoadRoutesRefusesWhatTheLocalGatewayCannotDo(t *testing.T) {
	cases := map[string]string{
		"an exact match":     "  rules:\n    - matches: [{path: {type: Exact, value: /x}}]\n      backendRefs: [{name: a, port: 1}]\n",
		"a header match":     "  rules:\n    - matches: [{path: {value: /x}, headers: [{name: h, value: v}]}]\n      backendRefs: [{name: a, port: 1}]\n",
		"a filter":           "  rules:\n    - filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]\n",
		"two backends":       "  rules:\n    - backendRefs: [{name: a, port: 1}, {name: b, port: 2}]\n",
		"a non-Service kind": "  rules:\n    - backendRefs: [{kind: ServiceImport, name: a, port: 1}]\n",
	}
	for name, spec := range cases {
		if _, err := LoadRoutes(writeRoutes(t, spec)); err == nil {
			t.Errorf("%s: loaded, want an error", name)
		}
	}
	two := writeRoutes(t, "  rules: []\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: s\nspec: {}\n")
	if _, err := LoadRoutes(two); err == nil || !strings.Contains(err.Error(), "HTTPRoutes r and s") {
		t.Errorf("two HTTPRoutes: %v, want an error naming both", err)
	}
	none := filepath.Join(t.TempDir(), "none.yaml")
	if err := os.WriteFile(none, []byte("kind: Gateway\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRoutes(none); err == nil || !strings.Contains(err.Error(), "no HTTPRoute") {
		t.Errorf("no HTTPRoute: %v", err)
	}
}

// The local gateway serves the routing table of the repository: a route to a
// service that is no app of dapr.yaml stops it, naming the route; an app not
// started in this run answers 502; a running one is proxied to.
func TestGatewayServesTheRoutingTable(t *testing.T) {
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, filepath.Dir(RoutesPath)), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(spec string) {
		t.Helper()
		b, err := os.ReadFile(writeRoutes(t, spec))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, RoutesPath), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rf := &RunFile{Apps: []RunApp{{AppID: "auth", AppPort: 3001}, {AppID: "client", AppPort: 3000}}}

	write("  rules:\n    - matches: [{path: {value: /api/nobody}}]\n      backendRefs: [{name: nobody, port: 3009}]\n")
	_, err := startGateway(&Mesh{opts: Options{RepoDir: repo}, runFile: rf, apps: map[string]*AppPorts{}})
	if want := RoutesPath + ` routes /api/nobody to service "nobody", which is no app in dapr.yaml`; err == nil || err.Error() != want {
		t.Fatalf("unknown backend: %v, want %q", err, want)
	}

	app := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "auth "+r.URL.Path+" "+r.Header.Get("X-Forwarded-Proto"))
	})}
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Serve(appLn)
	defer app.Close()
	write("  rules:\n    - matches: [{path: {value: /api/users}}]\n      backendRefs: [{name: auth, port: 3001}]\n" +
		"    - backendRefs: [{name: client, port: 3000}]\n")
	gwLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g, err := startGateway(&Mesh{
		opts: Options{RepoDir: repo, Apps: []string{"auth"}, Progress: io.Discard}, runFile: rf, gatewayLn: gwLn,
		apps: map[string]*AppPorts{"auth": {App: appLn.Addr().(*net.TCPAddr).Port}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get("http://" + gwLn.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/api/users/currentuser"); code != 200 || body != "auth /api/users/currentuser http" {
		t.Errorf("/api/users/currentuser: %d %q, want auth's answer", code, body)
	}
	if code, body := get("/tickets/1"); code != http.StatusBadGateway || !strings.Contains(body, "The client service is not running") {
		t.Errorf("/tickets/1 with client not started: %d %q, want 502", code, body)
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
