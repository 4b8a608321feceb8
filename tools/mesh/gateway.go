package mesh

import (
	"context"
	"errors"
	"fmt"
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

// IngressPath is the manifest that defines the public routing table, for the
// cluster (ingress-nginx) and for the local gateway alike.
const IngressPath = "manifests/base/ingress.yaml"

// Route sends requests whose path has Prefix to a service (an app id).
type Route struct {
	Prefix  string
	Service string
	Port    int
}

// LoadRoutes reads the Ingress manifest's rules: pathType Prefix only, longest
// prefix first, as Kubernetes matches them.
func LoadRoutes(path string) ([]Route, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ing struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Rules []struct {
				HTTP struct {
					Paths []struct {
						Path     string `yaml:"path"`
						PathType string `yaml:"pathType"`
						Backend  struct {
							Service struct {
								Name string `yaml:"name"`
								Port struct {
									Number int `yaml:"number"`
								} `yaml:"port"`
							} `yaml:"service"`
						} `yaml:"backend"`
					} `yaml:"paths"`
				} `yaml:"http"`
			} `yaml:"rules"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &ing); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if ing.Kind != "Ingress" {
		return nil, fmt.Errorf("%s: kind %q, want Ingress", path, ing.Kind)
	}
	var routes []Route
	seen := map[string]bool{}
	for _, rule := range ing.Spec.Rules {
		for _, p := range rule.HTTP.Paths {
			if p.PathType != "Prefix" {
				return nil, fmt.Errorf("%s: path %q: only pathType Prefix is supported", path, p.Path)
			}
			if seen[p.Path] {
				continue // the same table for every host
			}
			seen[p.Path] = true
			routes = append(routes, Route{Prefix: p.Path, Service: p.Backend.Service.Name, Port: p.Backend.Service.Port.Number})
		}
	}
	sort.SliceStable(routes, func(i, j int) bool { return len(routes[i].Prefix) > len(routes[j].Prefix) })
	return routes, nil
}

// Match returns the route for a path with Kubernetes' Prefix semantics: the
// prefix matches whole path elements ("/api/users" matches "/api/users/x",
// not "/api/usersx").
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
// Ingress route names, directly (as ingress-nginx reaches a Service).
func startGateway(m *Mesh) (*gateway, error) {
	routes, err := LoadRoutes(filepath.Join(m.opts.RepoDir, IngressPath))
	if err != nil {
		return nil, err
	}
	proxies := map[string]*httputil.ReverseProxy{}
	for _, r := range routes {
		ap := m.apps[r.Service]
		if ap == nil {
			if _, ok := m.runFile.App(r.Service); !ok && len(m.opts.Apps) == 0 {
				return nil, fmt.Errorf("%s routes %s to service %q, which is no app in dapr.yaml", IngressPath, r.Prefix, r.Service)
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
