package k8scheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Every app of dapr.yaml runs in every overlay as dapr.yaml says: its app id,
// its port, its environment, beside a sidecar configured the same way.
func TestEveryAppDeploysAsDaprYAMLSays(t *testing.T) {
	root := repoRoot(t)
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		for _, app := range rf.Apps {
			t.Run(app.AppID, func(t *testing.T) {
				d, ok := c.deployments[app.AppID]
				if !ok {
					t.Fatalf("no Deployment %q", app.AppID)
				}
				checkAppDeployment(t, c, app, d)
				checkAppService(t, c, app)
			})
		}
		var ids []string
		for _, d := range c.deployments {
			if id := d.Spec.Template.Annotations["dapr.io/app-id"]; id != "" {
				ids = append(ids, id)
			}
		}
		for _, id := range ids {
			if !contains(rf.AppIDs(), id) {
				t.Errorf("a Deployment runs Dapr app id %q, which dapr.yaml does not have", id)
			}
		}
	})
}

func checkAppDeployment(t *testing.T, c *cluster, app App, d *appsv1.Deployment) {
	port := strconv.Itoa(app.AppPort)
	ann := d.Spec.Template.Annotations
	for k, want := range map[string]string{
		"dapr.io/enabled":  "true",
		"dapr.io/app-id":   app.AppID,
		"dapr.io/app-port": port,
	} {
		if ann[k] != want {
			t.Errorf("annotation %s = %q, want %q", k, ann[k], want)
		}
	}
	if cfg := ann["dapr.io/config"]; c.configurations[cfg] == nil {
		t.Errorf("dapr.io/config %q names no Configuration", cfg)
	}
	if lvl := ann["dapr.io/log-level"]; !contains([]string{"debug", "info", "warn", "error"}, lvl) {
		t.Errorf("dapr.io/log-level %q", lvl)
	}
	if img := ann["dapr.io/sidecar-image"]; imageName(img) != "ticketing/daprd" {
		t.Errorf("dapr.io/sidecar-image %q, want our daprd (ticketing/daprd): the official image lacks the JetStream fixes", img)
	}
	for _, k := range []string{"cpu-request", "cpu-limit", "memory-request", "memory-limit"} {
		v := ann["dapr.io/sidecar-"+k]
		if _, err := resource.ParseQuantity(v); err != nil {
			t.Errorf("dapr.io/sidecar-%s = %q: %v", k, v, err)
		}
	}
	checkGOMEMLIMIT(t, ann["dapr.io/env"], ann["dapr.io/sidecar-memory-limit"])

	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want the app alone (the injector adds daprd)", len(d.Spec.Template.Spec.Containers))
	}
	ctr := d.Spec.Template.Spec.Containers[0]
	if imageName(ctr.Image) != "ticketing/"+app.AppID {
		t.Errorf("image %q, want ticketing/%s (apps/%s/Dockerfile)", ctr.Image, app.AppID, app.AppID)
	}
	if len(ctr.Ports) != 1 || ctr.Ports[0].ContainerPort != int32(app.AppPort) || ctr.Ports[0].Name != "http" {
		t.Errorf("container ports %v, want http: %d", ctr.Ports, app.AppPort)
	}
	env := map[string]string{}
	for _, e := range ctr.Env {
		env[e.Name] = e.Value
	}
	want := map[string]string{"APP_HOST": "0.0.0.0", "APP_PORT": port, "LOG_FORMAT": "json"}
	for k, v := range app.Env {
		want[k] = v
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	checkProbe(t, "liveness", ctr.LivenessProbe, "/healthz")
	checkProbe(t, "readiness", ctr.ReadinessProbe, "/readyz")
	checkProbe(t, "startup", ctr.StartupProbe, "/healthz")
	if sp := ctr.StartupProbe; sp != nil && sp.PeriodSeconds*sp.FailureThreshold < 130 {
		t.Errorf("startup probe gives up after %d s; the app may wait 2 minutes for its sidecar (SIDECAR_WAIT) before it listens", sp.PeriodSeconds*sp.FailureThreshold)
	}
	if d.Spec.Template.Spec.ServiceAccountName != app.AppID || c.serviceAccounts[app.AppID] == nil {
		t.Errorf("service account %q, want its own, %q", d.Spec.Template.Spec.ServiceAccountName, app.AppID)
	}
}

func checkAppService(t *testing.T, c *cluster, app App) {
	svc, ok := c.services[app.AppID]
	if !ok {
		t.Fatalf("no Service named after the app id %q", app.AppID)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != int32(app.AppPort) {
		t.Errorf("Service ports %v, want %d", svc.Spec.Ports, app.AppPort)
	}
	if !selects(svc.Spec.Selector, c.deployments[app.AppID].Spec.Template.Labels) {
		t.Errorf("Service selector %v does not select the Deployment's pods", svc.Spec.Selector)
	}
	if tp := svc.Spec.Ports[0].TargetPort; tp.String() != "http" && tp.IntValue() != app.AppPort {
		t.Errorf("Service targetPort %s, want the app's port", tp.String())
	}
}

// GOMEMLIMIT for the sidecar: below its memory limit, and close to it (the
// Dapr guidance is 90%).
func checkGOMEMLIMIT(t *testing.T, env, limit string) {
	t.Helper()
	v, ok := strings.CutPrefix(env, "GOMEMLIMIT=")
	if !ok || strings.Contains(v, ",") {
		t.Errorf("dapr.io/env %q, want GOMEMLIMIT=<bytes>", env)
		return
	}
	gomem, err := goMemLimit(v)
	if err != nil {
		t.Errorf("dapr.io/env: %v", err)
		return
	}
	lim, err := resource.ParseQuantity(limit)
	if err != nil {
		return
	}
	ratio := float64(gomem) / float64(lim.Value())
	if ratio < 0.8 || ratio >= 1 {
		t.Errorf("GOMEMLIMIT %s is %.0f%% of the sidecar's memory limit %s, want 80-99%%", v, ratio*100, limit)
	}
}

// goMemLimit parses GOMEMLIMIT's syntax (runtime/debug: a number with an
// optional B, KiB, MiB, GiB or TiB suffix).
func goMemLimit(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * u.mult, err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("GOMEMLIMIT %q: %v", s, err)
	}
	return v, nil
}

func checkProbe(t *testing.T, kind string, p *corev1.Probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("no HTTP %s probe", kind)
		return
	}
	if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
		t.Errorf("%s probe GET %s on port %s, want %s on http", kind, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
	}
}

// Apps on GKE run more than one replica; whatever runs more than one replica
// has a PodDisruptionBudget that keeps one up, and nothing else has one.
func TestReplicatedAppsHaveDisruptionBudgets(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		for name, d := range c.deployments {
			replicas := int32(1)
			if d.Spec.Replicas != nil {
				replicas = *d.Spec.Replicas
			}
			var budgets []string
			for pn, p := range c.pdbs {
				if selects(p.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
					budgets = append(budgets, pn)
					if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.IntValue() < 1 || p.Spec.MinAvailable.IntValue() >= int(replicas) {
						t.Errorf("PodDisruptionBudget %s: minAvailable %v for %d replicas of %s", pn, p.Spec.MinAvailable, replicas, name)
					}
				}
			}
			switch {
			case replicas > 1 && len(budgets) != 1:
				t.Errorf("Deployment %s: %d replicas and %d PodDisruptionBudgets, want one", name, replicas, len(budgets))
			case replicas <= 1 && len(budgets) != 0:
				t.Errorf("Deployment %s: one replica but PodDisruptionBudget %v, which would block every drain", name, budgets)
			}
		}
		if c.overlay == "manifests/overlays/gke" {
			for name, d := range c.deployments {
				if d.Spec.Template.Annotations["dapr.io/app-id"] != "" && *d.Spec.Replicas < 2 {
					t.Errorf("GKE: %s runs %d replica", name, *d.Spec.Replicas)
				}
			}
		}
	})
}

// Every container: non-root, no privilege escalation, pinned image, memory
// requests and limits.
func TestContainersAreHardenedAndSized(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		for id, tmpl := range c.podTemplates() {
			spec := tmpl.Spec
			for _, ctr := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
				where := id + " container " + ctr.Name
				nonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
				if sc := ctr.SecurityContext; sc != nil && sc.RunAsNonRoot != nil {
					nonRoot = *sc.RunAsNonRoot
				}
				if !nonRoot {
					t.Errorf("%s may run as root", where)
				}
				if sc := ctr.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Errorf("%s allows privilege escalation", where)
				}
				if name, tag := splitImage(ctr.Image); !strings.HasPrefix(name, "ticketing/") && (tag == "" || tag == "latest") {
					t.Errorf("%s: image %q is not pinned to a version", where, ctr.Image)
				}
				if ctr.Resources.Requests.Memory().IsZero() || ctr.Resources.Limits.Memory().IsZero() || ctr.Resources.Requests.Cpu().IsZero() {
					t.Errorf("%s: resources %v, want cpu and memory requests and a memory limit", where, ctr.Resources)
				}
			}
		}
	})
}

// Every image of ours in the manifests is built by a Dockerfile: ticketing/<app>
// by apps/<app>/Dockerfile, ticketing/daprd by the daprd target of the shared
// base.
func TestManifestImagesHaveDockerfiles(t *testing.T) {
	root := repoRoot(t)
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		for _, img := range ourImages(c) {
			name := strings.TrimPrefix(img, "ticketing/")
			df := filepath.Join(root, "apps", name, "Dockerfile")
			if name == "daprd" {
				df = filepath.Join(root, "apps", "Dockerfile.base")
			}
			if _, err := os.Stat(df); err != nil {
				t.Errorf("image %s: no %s", img, rel(root, df))
			}
		}
	})
}

// ourImages lists the distinct ticketing/* images a cluster uses, containers
// and sidecar annotations alike.
func ourImages(c *cluster) []string {
	seen := map[string]bool{}
	var out []string
	add := func(img string) {
		n := imageName(img)
		if strings.HasPrefix(n, "ticketing/") && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, tmpl := range c.podTemplates() {
		for _, ctr := range tmpl.Spec.Containers {
			add(ctr.Image)
		}
		add(tmpl.Annotations["dapr.io/sidecar-image"])
	}
	return out
}

func splitImage(ref string) (name, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}

func imageName(ref string) string {
	n, _ := splitImage(ref)
	return n
}
