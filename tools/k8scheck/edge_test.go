package k8scheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The edge: the Gateway and the HTTPRoutes (decoded strictly against the
// Gateway API's own Go types, sigs.k8s.io/gateway-api v1.4.0), cross-checked
// with the Services they send to; on GKE, the HTTPS listener, the redirect and
// the load balancer's health checks.

const (
	// gatewayName is the Gateway of manifests/base/gateway.yaml, and
	// routeName its HTTPRoute: the public routing table, which the local
	// runner's gateway reads too (tools/mesh).
	gatewayName = "ticketing"
	routeName   = "ticketing"
	// placeholderClass is the base's gatewayClassName, which every overlay
	// replaces.
	placeholderClass = "set-by-overlay"
	// gkeGatewayClass is GKE's global external Application Load Balancer.
	gkeGatewayClass = "gke-l7-global-external-managed"
	// envoyGatewayController is the controller name Envoy Gateway serves.
	envoyGatewayController = "gateway.envoyproxy.io/gatewayclass-controller"
	// certMapAnnotation names the Certificate Manager certificate map a GKE
	// Gateway serves its HTTPS listeners' certificates from.
	certMapAnnotation = "networking.gke.io/certmap"
)

// baseRoutingTable is the routing table of manifests/base/gateway.yaml.
func baseRoutingTable(t *testing.T) map[string]string {
	t.Helper()
	b := mustRead(t, filepath.Join(repoRoot(t), "manifests/base/gateway.yaml"))
	objs, err := DecodeAll(b)
	if err != nil {
		t.Fatalf("manifests/base/gateway.yaml: %v", err)
	}
	for _, o := range objs {
		if r, ok := o.(*gatewayv1.HTTPRoute); ok && r.Name == routeName {
			table, problems := routingTable(r)
			for _, p := range problems {
				t.Errorf("manifests/base/gateway.yaml: %s", p)
			}
			return table
		}
	}
	t.Fatalf("manifests/base/gateway.yaml has no HTTPRoute %s", routeName)
	return nil
}

// routingTable reads a route as the local gateway does: every rule one
// PathPrefix match and one backend, "PathPrefix /api/users" -> "auth:3001".
func routingTable(r *gatewayv1.HTTPRoute) (map[string]string, []string) {
	table := map[string]string{}
	var problems []string
	for i, rule := range r.Spec.Rules {
		if len(rule.Matches) != 1 || rule.Matches[0].Path == nil || len(rule.BackendRefs) != 1 || len(rule.Filters) > 0 ||
			len(rule.Matches[0].Headers) > 0 || len(rule.Matches[0].QueryParams) > 0 || rule.Matches[0].Method != nil {
			problems = append(problems, fmt.Sprintf("HTTPRoute %s rule %d: want one path match and one backend, no filters (what the local gateway reads)", r.Name, i))
			continue
		}
		p := rule.Matches[0].Path
		typ, value := gatewayv1.PathMatchPathPrefix, "/"
		if p.Type != nil {
			typ = *p.Type
		}
		if p.Value != nil {
			value = *p.Value
		}
		b := rule.BackendRefs[0]
		port := "<none>"
		if b.Port != nil {
			port = fmt.Sprint(*b.Port)
		}
		key := string(typ) + " " + value
		if _, dup := table[key]; dup {
			problems = append(problems, fmt.Sprintf("HTTPRoute %s: %s twice", r.Name, key))
		}
		table[key] = string(b.Name) + ":" + port
	}
	return table, problems
}

// routeProblems cross-checks every HTTPRoute of a cluster: each parentRef is
// a Gateway of the cluster (and, with a sectionName, one of its listeners)
// that admits the route; each backendRef is a Service of the cluster serving
// that port; a rule either redirects or has backends.
func (c *cluster) routeProblems() []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, name := range sortedKeys(c.gateways) {
		g := c.gateways[name]
		if g.Spec.GatewayClassName == placeholderClass || g.Spec.GatewayClassName == "" {
			bad("Gateway %s: gatewayClassName %q, which the overlay must set", name, g.Spec.GatewayClassName)
		}
		for _, l := range g.Spec.Listeners {
			if l.Protocol != gatewayv1.HTTPProtocolType && l.Protocol != gatewayv1.HTTPSProtocolType {
				bad("Gateway %s listener %s: protocol %s, want HTTP or HTTPS", name, l.Name, l.Protocol)
			}
		}
	}
	for _, name := range sortedKeys(c.httpRoutes) {
		r := c.httpRoutes[name]
		if len(r.Spec.ParentRefs) == 0 {
			bad("HTTPRoute %s attaches to no Gateway", name)
		}
		for _, p := range r.Spec.ParentRefs {
			if (p.Group != nil && *p.Group != gatewayv1.GroupName) || (p.Kind != nil && *p.Kind != "Gateway") {
				bad("HTTPRoute %s: parentRef %s is not a Gateway", name, p.Name)
				continue
			}
			if p.Namespace != nil && string(*p.Namespace) != r.Namespace {
				bad("HTTPRoute %s: parentRef %s in namespace %s, the route is in %s", name, p.Name, *p.Namespace, r.Namespace)
				continue
			}
			g, ok := c.gateways[string(p.Name)]
			if !ok {
				bad("HTTPRoute %s: parentRef Gateway %s, which does not exist", name, p.Name)
				continue
			}
			listeners := g.Spec.Listeners
			if p.SectionName != nil {
				listeners = nil
				for _, l := range g.Spec.Listeners {
					if l.Name == *p.SectionName {
						listeners = append(listeners, l)
					}
				}
				if len(listeners) == 0 {
					bad("HTTPRoute %s: parentRef Gateway %s has no listener %s", name, g.Name, *p.SectionName)
				}
			}
			for _, l := range listeners {
				if !admits(l, g.Namespace, r.Namespace) {
					bad("HTTPRoute %s: Gateway %s listener %s does not admit it", name, g.Name, l.Name)
				}
			}
		}
		for i, rule := range r.Spec.Rules {
			var redirect *gatewayv1.HTTPRequestRedirectFilter
			for _, f := range rule.Filters {
				if f.Type == gatewayv1.HTTPRouteFilterRequestRedirect {
					redirect = f.RequestRedirect
				}
			}
			switch {
			case redirect != nil && len(rule.BackendRefs) > 0:
				bad("HTTPRoute %s rule %d: a redirect with backends", name, i)
			case redirect == nil && len(rule.BackendRefs) == 0:
				bad("HTTPRoute %s rule %d: no backend and no redirect", name, i)
			case redirect != nil && (redirect.StatusCode == nil || (*redirect.StatusCode != 301 && *redirect.StatusCode != 302)):
				bad("HTTPRoute %s rule %d: redirect status %v, want 301 or 302", name, i, redirect.StatusCode)
			}
			for _, m := range rule.Matches {
				if m.Path != nil && m.Path.Value != nil && !strings.HasPrefix(*m.Path.Value, "/") {
					bad("HTTPRoute %s rule %d: path %q is not absolute", name, i, *m.Path.Value)
				}
			}
			for _, b := range rule.BackendRefs {
				if (b.Group != nil && *b.Group != "") || (b.Kind != nil && *b.Kind != "Service") {
					bad("HTTPRoute %s rule %d: backend %s is not a Service", name, i, b.Name)
					continue
				}
				if b.Namespace != nil && string(*b.Namespace) != r.Namespace {
					bad("HTTPRoute %s rule %d: backend %s in namespace %s, the route is in %s", name, i, b.Name, *b.Namespace, r.Namespace)
					continue
				}
				svc, ok := c.services[string(b.Name)]
				if !ok {
					bad("HTTPRoute %s sends to Service %s, which does not exist", name, b.Name)
					continue
				}
				if b.Port == nil {
					bad("HTTPRoute %s sends to Service %s without a port", name, b.Name)
					continue
				}
				var served bool
				for _, sp := range svc.Spec.Ports {
					served = served || sp.Port == int32(*b.Port)
				}
				if !served {
					bad("HTTPRoute %s sends to %s:%d, a port the Service does not serve", name, b.Name, *b.Port)
				}
			}
		}
	}
	return out
}

// admits: whether a listener accepts an HTTPRoute from routeNS (the
// allowedRoutes this project uses: namespaces from Same or All, kinds unset
// or HTTPRoute).
func admits(l gatewayv1.Listener, gatewayNS, routeNS string) bool {
	from := gatewayv1.NamespacesFromSame
	var kinds []gatewayv1.RouteGroupKind
	if l.AllowedRoutes != nil {
		kinds = l.AllowedRoutes.Kinds
		if l.AllowedRoutes.Namespaces != nil && l.AllowedRoutes.Namespaces.From != nil {
			from = *l.AllowedRoutes.Namespaces.From
		}
	}
	kindOK := len(kinds) == 0
	for _, k := range kinds {
		kindOK = kindOK || (k.Kind == "HTTPRoute" && (k.Group == nil || *k.Group == gatewayv1.GroupName))
	}
	switch from {
	case gatewayv1.NamespacesFromAll:
		return kindOK
	case gatewayv1.NamespacesFromSame:
		return kindOK && gatewayNS == routeNS
	}
	return false
}

// Every overlay: one Gateway with its class set, the routing table exactly
// as the base (and the local runner) has it, and every route going to
// Services that exist, on ports they serve.
func TestGatewayRoutesToServices(t *testing.T) {
	base := baseRoutingTable(t)
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		if _, ok := c.gateways[gatewayName]; !ok || len(c.gateways) != 1 {
			t.Fatalf("Gateways %v, want the one Gateway %s", sortedKeys(c.gateways), gatewayName)
		}
		r, ok := c.httpRoutes[routeName]
		if !ok {
			t.Fatalf("no HTTPRoute %s", routeName)
		}
		table, problems := routingTable(r)
		for _, p := range problems {
			t.Error(p)
		}
		if !reflect.DeepEqual(table, base) {
			t.Errorf("HTTPRoute %s routes %v, the base table is %v", routeName, table, base)
		}
		for _, p := range c.routeProblems() {
			t.Error(p)
		}
	})
}

// The dev cluster: Envoy Gateway's class (applied by Tilt), plain HTTP on any
// host (Tilt forwards localhost:8080 to it), nothing GKE-specific.
func TestDevEdge(t *testing.T) {
	c := decodeCluster(t, "manifests/overlays/dev")
	class := tiltGatewayClass(t)
	g := c.gateways[gatewayName]
	if g == nil {
		t.Fatalf("no Gateway %s", gatewayName)
	}
	if string(g.Spec.GatewayClassName) != class.Name {
		t.Errorf("the dev Gateway's class is %q, Tilt applies the class %q", g.Spec.GatewayClassName, class.Name)
	}
	for _, l := range g.Spec.Listeners {
		if l.Protocol != gatewayv1.HTTPProtocolType || l.Hostname != nil {
			t.Errorf("dev listener %s: %s for %v, want plain HTTP for any host", l.Name, l.Protocol, l.Hostname)
		}
	}
	for name, r := range c.httpRoutes {
		if len(r.Spec.Hostnames) > 0 {
			t.Errorf("dev HTTPRoute %s is for %v only; the origin is http://localhost:8080", name, r.Spec.Hostnames)
		}
	}
	for _, o := range c.objs {
		if strings.HasPrefix(o.APIVersion, "networking.gke.io/") {
			t.Errorf("the dev overlay has %s, a GKE-only kind", o.ID())
		}
	}
}

// tiltGatewayClass is the GatewayClass the Tiltfile applies beside Envoy
// Gateway's chart, decoded strictly.
func tiltGatewayClass(t *testing.T) *gatewayv1.GatewayClass {
	t.Helper()
	objs, err := DecodeAll(mustRead(t, filepath.Join(repoRoot(t), "tilt/gatewayclass.yaml")))
	if err != nil {
		t.Fatalf("tilt/gatewayclass.yaml: %v", err)
	}
	if len(objs) != 1 {
		t.Fatalf("tilt/gatewayclass.yaml: %d objects, want one GatewayClass", len(objs))
	}
	class, ok := objs[0].(*gatewayv1.GatewayClass)
	if !ok {
		t.Fatalf("tilt/gatewayclass.yaml holds a %T, want a GatewayClass", objs[0])
	}
	if class.Spec.ControllerName != envoyGatewayController {
		t.Errorf("GatewayClass %s: controller %q, want Envoy Gateway's %q", class.Name, class.Spec.ControllerName, envoyGatewayController)
	}
	return class
}

// GKE: GKE's own controller on a reserved address, HTTPS with the
// certificate map's certificate, HTTP only redirecting to HTTPS, and a health
// check on /readyz for every Service a route sends to.
func TestGKEEdge(t *testing.T) {
	c := decodeCluster(t, "manifests/overlays/gke")
	g := c.gateways[gatewayName]
	if g == nil {
		t.Fatalf("no Gateway %s", gatewayName)
	}
	if g.Spec.GatewayClassName != gkeGatewayClass {
		t.Errorf("gatewayClassName %q, want %s", g.Spec.GatewayClassName, gkeGatewayClass)
	}
	if g.Annotations[certMapAnnotation] == "" {
		t.Errorf("the Gateway has no %s annotation: HTTPS without a certificate", certMapAnnotation)
	}
	if len(g.Spec.Addresses) != 1 || g.Spec.Addresses[0].Type == nil || *g.Spec.Addresses[0].Type != gatewayv1.NamedAddressType || g.Spec.Addresses[0].Value == "" {
		t.Errorf("addresses %v, want one NamedAddress (the reserved IP your DNS points at)", g.Spec.Addresses)
	}
	listeners := map[gatewayv1.SectionName]gatewayv1.Listener{}
	for _, l := range g.Spec.Listeners {
		listeners[l.Name] = l
	}
	if l, ok := listeners["http"]; !ok || l.Protocol != gatewayv1.HTTPProtocolType || l.Port != 80 {
		t.Errorf("no listener http: HTTP on 80")
	}
	if l, ok := listeners["https"]; !ok || l.Protocol != gatewayv1.HTTPSProtocolType || l.Port != 443 {
		t.Errorf("no listener https: HTTPS on 443")
	} else if l.TLS != nil {
		t.Errorf("listener https has a tls block; GKE refuses it beside a certificate map")
	}
	// Which routes attach to which listener.
	on := map[gatewayv1.SectionName][]string{}
	for _, name := range sortedKeys(c.httpRoutes) {
		for _, p := range c.httpRoutes[name].Spec.ParentRefs {
			if p.SectionName == nil {
				on["http"] = append(on["http"], name)
				on["https"] = append(on["https"], name)
			} else {
				on[*p.SectionName] = append(on[*p.SectionName], name)
			}
		}
	}
	if !reflect.DeepEqual(on["https"], []string{routeName}) {
		t.Errorf("the https listener carries %v, want the routing table %s alone", on["https"], routeName)
	}
	if len(on["http"]) != 1 || on["http"][0] == routeName {
		t.Errorf("the http listener carries %v, want one route, the redirect", on["http"])
	} else {
		checkHTTPSRedirect(t, c.httpRoutes[on["http"][0]])
	}
	if hosts := c.httpRoutes[routeName].Spec.Hostnames; len(hosts) == 0 {
		t.Errorf("HTTPRoute %s has no hostnames: on GKE it serves your domain only", routeName)
	} else {
		for _, h := range hosts {
			if strings.Contains(string(h), "*") {
				t.Errorf("HTTPRoute %s: hostname %s; a Google-managed certificate per host needs exact hosts", routeName, h)
			}
		}
	}
	for _, p := range c.healthCheckProblems() {
		t.Error(p)
	}
}

func checkHTTPSRedirect(t *testing.T, r *gatewayv1.HTTPRoute) {
	t.Helper()
	if len(r.Spec.Rules) != 1 {
		t.Errorf("redirect HTTPRoute %s: %d rules, want one", r.Name, len(r.Spec.Rules))
		return
	}
	rule := r.Spec.Rules[0]
	for _, m := range rule.Matches {
		if m.Path == nil || m.Path.Value == nil || *m.Path.Value != "/" || len(m.Headers)+len(m.QueryParams) > 0 || m.Method != nil {
			t.Errorf("redirect HTTPRoute %s matches %v; want every request", r.Name, rule.Matches)
		}
	}
	if len(rule.Filters) != 1 || rule.Filters[0].RequestRedirect == nil {
		t.Fatalf("redirect HTTPRoute %s: filters %v, want one RequestRedirect", r.Name, rule.Filters)
	}
	rr := rule.Filters[0].RequestRedirect
	if rr.Scheme == nil || *rr.Scheme != "https" || rr.StatusCode == nil || *rr.StatusCode != 301 {
		t.Errorf("redirect HTTPRoute %s: scheme %v status %v, want https and 301", r.Name, rr.Scheme, rr.StatusCode)
	}
	if rr.Hostname != nil || rr.Path != nil || rr.Port != nil {
		t.Errorf("redirect HTTPRoute %s changes the host, path or port; want the same URL over HTTPS", r.Name)
	}
}

// healthCheckProblems: every Service a route sends to has exactly one
// HealthCheckPolicy, an HTTP check of the path its pods' readiness probe
// asks, on the serving port; no policy targets anything else.
func (c *cluster) healthCheckProblems() []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	routed := map[string]bool{}
	for _, r := range c.httpRoutes {
		for _, rule := range r.Spec.Rules {
			for _, b := range rule.BackendRefs {
				routed[string(b.Name)] = true
			}
		}
	}
	policies := map[string][]string{}
	for _, name := range sortedKeys(c.healthChecks) {
		p := c.healthChecks[name]
		ref := p.Spec.TargetRef
		if ref.Group != "" || ref.Kind != "Service" || (ref.Namespace != nil && string(*ref.Namespace) != p.Namespace) {
			bad("HealthCheckPolicy %s targets %s/%s %s, want a Service of its namespace", name, ref.Group, ref.Kind, ref.Name)
			continue
		}
		if !routed[string(ref.Name)] {
			bad("HealthCheckPolicy %s targets Service %s, which no HTTPRoute sends to", name, ref.Name)
			continue
		}
		policies[string(ref.Name)] = append(policies[string(ref.Name)], name)
		svc := c.services[string(ref.Name)]
		probe := c.readinessProbe(svc)
		if probe == nil || probe.HTTPGet == nil {
			bad("Service %s: no pod with an HTTP readiness probe behind it", ref.Name)
			continue
		}
		d := p.Spec.Default
		if d == nil || d.Config == nil || d.Config.Type != "HTTP" || d.Config.HTTP == nil ||
			d.Config.HTTPS != nil || d.Config.HTTP2 != nil || d.Config.GRPC != nil || d.Config.TCP != nil {
			bad("HealthCheckPolicy %s: want one HTTP check (type HTTP, httpHealthCheck)", name)
			continue
		}
		hc := d.Config.HTTP
		if hc.RequestPath == nil || *hc.RequestPath != probe.HTTPGet.Path {
			bad("HealthCheckPolicy %s checks %v, the readiness probe asks %s", name, deref(hc.RequestPath, "/ (the default)"), probe.HTTPGet.Path)
		}
		if hc.Port != nil || hc.PortName != nil || (hc.PortSpecification != nil && *hc.PortSpecification != "USE_SERVING_PORT") {
			bad("HealthCheckPolicy %s: a port of its own; want the serving port, where the app answers its probe", name)
		}
	}
	for _, svc := range sortedKeys(routed) {
		if n := len(policies[svc]); n != 1 {
			bad("Service %s: %d HealthCheckPolicies %v, want one (GKE checks GET / otherwise)", svc, n, policies[svc])
		}
	}
	return out
}

// readinessProbe is the readiness probe of the container serving a Service's
// target port, in the Deployment the Service selects.
func (c *cluster) readinessProbe(svc *corev1.Service) *corev1.Probe {
	if svc == nil || len(svc.Spec.Ports) != 1 {
		return nil
	}
	target := svc.Spec.Ports[0].TargetPort
	for _, d := range c.deployments {
		if !selects(svc.Spec.Selector, d.Spec.Template.Labels) {
			continue
		}
		for _, ctr := range d.Spec.Template.Spec.Containers {
			for _, p := range ctr.Ports {
				if (target.StrVal != "" && p.Name == target.StrVal) || (target.StrVal == "" && p.ContainerPort == target.IntVal) {
					return ctr.ReadinessProbe
				}
			}
		}
	}
	return nil
}

func deref(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}

// A doctored route fails the cross-checks: each case changes one thing in
// the rendered gke overlay and names the problem it must cause.
func TestDoctoredRoutesFail(t *testing.T) {
	objs := render(t, "manifests/overlays/gke")
	cases := []struct {
		name, kind, object, from, to, want string
	}{
		{"unknown backend", "HTTPRoute", routeName, "name: auth\n", "name: authz\n", "Service authz, which does not exist"},
		{"wrong port", "HTTPRoute", routeName, "port: 3002", "port: 3012", "tickets:3012, a port the Service does not serve"},
		{"unknown Gateway", "HTTPRoute", routeName, "- name: ticketing\n", "- name: ticketingz\n", "parentRef Gateway ticketingz, which does not exist"},
		{"unknown listener", "HTTPRoute", routeName, "sectionName: https", "sectionName: httpz", "has no listener httpz"},
		{"a backend in another namespace", "HTTPRoute", routeName, "name: orders\n", "name: orders\n      namespace: default\n", "backend orders in namespace default"},
		{"redirect with a backend", "HTTPRoute", "ticketing-https-redirect", "  - filters:", "  - backendRefs:\n    - name: client\n      port: 3000\n    filters:", "a redirect with backends"},
		{"health check of an unrouted Service", "HealthCheckPolicy", "auth", "    name: auth\n", "    name: expiration\n", "Service auth: 0 HealthCheckPolicies"},
		{"health check of the wrong path", "HealthCheckPolicy", "orders", "requestPath: /readyz", "requestPath: /healthz", "checks /healthz, the readiness probe asks /readyz"},
		{"the placeholder class", "Gateway", gatewayName, "gatewayClassName: " + gkeGatewayClass, "gatewayClassName: " + placeholderClass, "which the overlay must set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := decodeObjects(t, "doctored gke", doctor(t, objs, tc.kind, tc.object, tc.from, tc.to))
			problems := strings.Join(append(c.routeProblems(), c.healthCheckProblems()...), "\n")
			if !strings.Contains(problems, tc.want) {
				t.Errorf("with %q changed to %q, problems:\n%s\nwant one saying %q", tc.from, tc.to, problems, tc.want)
			}
		})
	}
	t.Run("unchanged", func(t *testing.T) {
		c := decodeObjects(t, "gke", objs)
		if p := append(c.routeProblems(), c.healthCheckProblems()...); len(p) > 0 {
			t.Errorf("the undoctored overlay has problems: %v", p)
		}
	})
}

// doctor returns a copy of objs with one object's YAML changed.
func doctor(t *testing.T, objs []Object, kind, name, from, to string) []Object {
	t.Helper()
	out := append([]Object(nil), objs...)
	for i, o := range out {
		if o.Kind == kind && o.Name == name {
			broken := bytes.Replace(o.YAML, []byte(from), []byte(to), 1)
			if bytes.Equal(broken, o.YAML) {
				t.Fatalf("%q is not in %s:\n%s", from, o.ID(), o.YAML)
			}
			out[i].YAML = broken
			return out
		}
	}
	t.Fatalf("no %s/%s rendered", kind, name)
	return nil
}

// Nothing of the retired edge controller, and no Ingress, in what deploys or
// runs the cluster: it was retired in March 2026, the edge is the Gateway
// API. (The words are spelt in two below, so that searching the repository
// for them finds only the READMEs saying why it went.)
func TestNoIngressNginx(t *testing.T) {
	root := repoRoot(t)
	retired, ingress := "ingress"+"-nginx", "kind: "+"Ingress\n"
	for _, dir := range []string{"manifests", "tilt", "Tiltfile", ".ci", "components"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(path) == ".md" { // the READMEs may say why it went
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, word := range []string{retired, ingress} {
				if bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(word))) {
					t.Errorf("%s mentions %q", rel(root, path), strings.TrimSpace(word))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
