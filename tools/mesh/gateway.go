package mesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// RoutesPath is the manifest that defines the public routing table: its
// HTTPRoute is what the cluster's Gateway routes by, and what the local
// gateway reads.
const RoutesPath = "manifests/base/gateway.yaml"

// Route sends requests whose path has Prefix to a service (an app id).
type Route struct {
	Prefix  string
	Service string
	Port    int
}

// httpRoute is the part of a Gateway API HTTPRoute the local gateway reads.
type httpRoute struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Rules []struct {
			Matches []struct {
				Path *struct {
					Type  string `yaml:"type"`
					Value string `yaml:"value"`
				} `yaml:"path"`
				Headers     []any  `yaml:"headers"`
				QueryParams []any  `yaml:"queryParams"`
				Method      string `yaml:"method"`
			} `yaml:"matches"`
			Filters     []any `yaml:"filters"`
			BackendRefs []struct {
				Group string `yaml:"group"`
				Kind  string `yaml:"kind"`
				Name  string `yaml:"name"`
				Port  int    `yaml:"port"`
			} `yaml:"backendRefs"`
		} `yaml:"rules"`
	} `yaml:"spec"`
}

// LoadRoutes reads the HTTPRoute of the manifest at path (the one HTTPRoute
// among its documents): PathPrefix matches with one Service backend each,
// longest prefix first, as the Gateway API matches them. A rule without
// matches matches every path, as in the Gateway API; hostnames are ignored
// (the local origin serves any host).
func LoadRoutes(path string) ([]Route, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var route *httpRoute
	dec := yaml.NewDecoder(f)
	for {
		var doc httpRoute
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if doc.Kind != "HTTPRoute" {
			continue
		}
		if route != nil {
			return nil, fmt.Errorf("%s: HTTPRoutes %s and %s, want the one routing table", path, route.Metadata.Name, doc.Metadata.Name)
		}
		route = &doc
	}
	if route == nil {
		return nil, fmt.Errorf("%s: no HTTPRoute", path)
	}
	var routes []Route
	seen := map[string]bool{}
	for i, rule := range route.Spec.Rules {
		if len(rule.Filters) > 0 || len(rule.BackendRefs) != 1 {
			return nil, fmt.Errorf("%s: HTTPRoute %s rule %d: only one backend and no filters are supported", path, route.Metadata.Name, i)
		}
		b := rule.BackendRefs[0]
		if b.Group != "" || (b.Kind != "" && b.Kind != "Service") {
			return nil, fmt.Errorf("%s: HTTPRoute %s rule %d: backend %s is not a Service", path, route.Metadata.Name, i, b.Name)
		}
		prefixes := []string{"/"}
		if len(rule.Matches) > 0 {
			prefixes = nil
		}
		for _, m := range rule.Matches {
			if m.Path == nil || (m.Path.Type != "" && m.Path.Type != "PathPrefix") || len(m.Headers) > 0 || len(m.QueryParams) > 0 || m.Method != "" {
				return nil, fmt.Errorf("%s: HTTPRoute %s rule %d: only PathPrefix path matches are supported", path, route.Metadata.Name, i)
			}
			prefixes = append(prefixes, m.Path.Value)
		}
		for _, p := range prefixes {
			if seen[p] {
				continue // the first rule for a prefix wins
			}
			seen[p] = true
			routes = append(routes, Route{Prefix: p, Service: b.Name, Port: b.Port})
		}
	}
	sort.SliceStable(routes, func(i, j int) bool { return len(routes[i].Prefix) > len(routes[j].Prefix) })
	return routes, nil
}

// Match returns the route for a path with the Gateway API's PathPrefix
// semantics: the prefix matches whole path elements ("/api/users" matches
// "/api/users/x", not "/api/usersx").
func Match(routes []Route, path string) (Route, bool) {
	for _, r := range routes {
		p := strings.TrimSuffix(r.Prefix, "/")
		if p == "" || path == p || strings.HasPrefix(path, p+"/") {
			return r, true
		}
	}
	return Route{}, false
}

type gateway struct {
	srv *http.Server
}

// startGateway serves the public origin: each request goes to the app its
// HTTPRoute rule names, directly (as the cluster's Gateway reaches a Service).
func startGateway(m *Mesh) (*gateway, error) {
	routes, err := LoadRoutes(filepath.Join(m.opts.RepoDir, RoutesPath))
	if err != nil {
		return nil, err
	}
	proxies := map[string]*httputil.ReverseProxy{}
	for _, r := range routes {
		ap := m.apps[r.Service]
		if ap == nil {
			if _, ok := m.runFile.App(r.Service); !ok && len(m.opts.Apps) == 0 {
				return nil, fmt.Errorf("%s routes %s to service %q, which is no app in dapr.yaml", RoutesPath, r.Prefix, r.Service)
			}
			continue // not started in this run: the route answers 502
		}
		target := &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ap.App)}
		rp := httputil.NewSingleHostReverseProxy(target)
		service := r.Service
		rp.ErrorHandler = func(w http.ResponseWriter, req *http.Request, err error) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, `{"errors":[{"message":"The %s service is unavailable"}]}`+"\n", service)
		}
		rp.Transport = &http.Transport{
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		}
		proxies[r.Service] = rp
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r, ok := Match(routes, req.URL.Path)
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintln(w, `{"errors":[{"message":"Not Found"}]}`)
			return
		}
		req.Header.Set("X-Forwarded-Proto", "http")
		rp, ok := proxies[r.Service]
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, `{"errors":[{"message":"The %s service is not running"}]}`+"\n", r.Service)
			return
		}
		rp.ServeHTTP(w, req)
	})
	ln := m.gatewayLn
	m.gatewayLn = nil
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", m.ports.Gateway)); err != nil {
			return nil, fmt.Errorf("public origin: %w", err)
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.say("public origin stopped: %v", err)
		}
	}()
	return &gateway{srv: srv}, nil
}

func (g *gateway) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.srv.Shutdown(ctx)
}
