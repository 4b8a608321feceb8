package k8scheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docs/deploy-gke.md installs what the dev cluster runs, opens the port the
// sidecar injector needs on private clusters, and deploys every app.
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
	for _, want := range []string{
		"tcp:4000",                           // Dapr's sidecar injector on private clusters
		"--build-config=.ci/cloudbuild.yaml", // the trigger
		"go run ./tools/k8scheck/cmd/render", // the renderer the pipeline uses
		"--set global.ha.enabled=true",       // production control plane
	} {
		if !strings.Contains(guide, want) {
			t.Errorf("the guide lacks %q", want)
		}
	}
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	checkLoop(t, guide, "for app in ", rf.AppIDs())
}
