package k8scheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docs/deploy-gke.md installs the Dapr the dev cluster runs (and not the dev
// cluster's Gateway controller: GKE has its own), opens the port the sidecar
// injector needs on private clusters, creates what the gke overlay's edge
// names (the address, the certificate map with an entry for the host), and
// deploys every app.
func TestGKEGuideMatchesTheRest(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "docs/deploy-gke.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(b)
	run := runTilt(t)
	for _, c := range run.CallsOf("helm_resource") {
		chart := c.Args["chart"].(string)
		if chart == envoyGatewayChart {
			if strings.Contains(guide, chart) {
				t.Errorf("the guide installs %s; GKE runs its own Gateway controller", chart)
			}
			continue
		}
		var version string
		for _, f := range toStrings(c.Args["flags"]) {
			if v, ok := strings.CutPrefix(f, "--version="); ok {
				version = v
			}
		}
		re := regexp.MustCompile(`helm upgrade --install \S+ ` + regexp.QuoteMeta(chart) + ` --version=(\S+)`)
		m := re.FindStringSubmatch(guide)
		if m == nil {
			t.Errorf("the guide does not install %s with helm upgrade --install ... --version=", chart)
			continue
		}
		if m[1] != version {
			t.Errorf("the guide installs %s %s, the Tiltfile %s", chart, m[1], version)
		}
	}
	gke := decodeCluster(t, "manifests/overlays/gke")
	g := gke.gateways[gatewayName]
	if g == nil || len(g.Spec.Addresses) != 1 {
		t.Fatalf("the gke overlay has no Gateway %s with one address", gatewayName)
	}
	certMap := g.Annotations[certMapAnnotation]
	for _, want := range []string{
		"tcp:4000",                           // Dapr's sidecar injector on private clusters
		"--build-config=.ci/cloudbuild.yaml", // the trigger
		"go run ./tools/k8scheck/cmd/render", // the renderer the pipeline uses
		"--set global.ha.enabled=true",       // production control plane
		"--gateway-api=standard",             // GKE's Gateway controller and the CRDs
		"certificatemanager.googleapis.com",
		"gcloud compute addresses create " + g.Spec.Addresses[0].Value + " --global",
		"gcloud certificate-manager maps create " + certMap + "\n",
		"--map=" + certMap + " ",
		"--domains=$DOMAIN",
		"--hostname=$DOMAIN",
		"manifests/overlays/gke/public-host.yaml",
	} {
		if !strings.Contains(guide, want) {
			t.Errorf("the guide lacks %q", want)
		}
	}
	for _, gone := range []string{"tcp:8443", "secret tls", "kubernetes.github.io/ingress"} {
		if strings.Contains(guide, gone) {
			t.Errorf("the guide still has %q (the retired edge)", gone)
		}
	}
	hosts := gke.httpRoutes[routeName].Spec.Hostnames
	if len(hosts) != 1 || !strings.Contains(guide, string(hosts[0])) {
		t.Errorf("the routing table's hosts %v: the guide must name the one to replace", hosts)
	}
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	checkLoop(t, guide, "for app in ", rf.AppIDs())
}
