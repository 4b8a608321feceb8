package k8scheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What the pipeline applies: the GKE overlay with every image of ours in the
// registry, the sidecar annotation included, and nothing else changed.
func TestRenderForDeployPointsEveryImageAtTheRegistry(t *testing.T) {
	root := repoRoot(t)
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	const reg = "europe-west1-docker.pkg.dev/proj/ticketing"
	images := map[string]string{"daprd": reg + "/daprd:1.18.3-0123456789ab"}
	for _, app := range rf.AppIDs() {
		images[app] = reg + "/" + app + ":abc1234"
	}
	objs, err := RenderForDeploy(root, "manifests/overlays/gke", images)
	if err != nil {
		t.Fatal(err)
	}
	plain := render(t, "manifests/overlays/gke")
	if len(objs) != len(plain) {
		t.Fatalf("%d objects, the overlay has %d", len(objs), len(plain))
	}
	for _, app := range rf.AppIDs() {
		o, ok := Find(objs, "Deployment", app)
		if !ok {
			t.Fatalf("no Deployment %s", app)
		}
		y := string(o.YAML)
		if !strings.Contains(y, "image: "+reg+"/"+app+":abc1234") {
			t.Errorf("%s: app image not in the registry:\n%s", app, y)
		}
		if !strings.Contains(y, "dapr.io/sidecar-image: "+images["daprd"]) {
			t.Errorf("%s: sidecar image not in the registry", app)
		}
		if _, err := Decode(o.YAML); err != nil {
			t.Errorf("%s: %v", app, err)
		}
	}
	delete(images, "daprd")
	if _, err := RenderForDeploy(root, "manifests/overlays/gke", images); err == nil {
		t.Error("rendered with the sidecar image left as ticketing/daprd; want an error")
	}
}

// The GKE overlay teaches kustomize the same about the sidecar annotation, for
// a hand-run `kustomize edit set image`.
func TestGKEOverlayKnowsTheSidecarImage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "manifests/overlays/gke/sidecar-image.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != sidecarImageConfig {
		t.Errorf("manifests/overlays/gke/sidecar-image.yaml differs from the renderer's:\n%s", sidecarImageConfig)
	}
}
