package k8scheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The cluster runs the versions the local runner pins (tools/runtime/build.sh):
// Dapr (the sidecar image and the charts), nats-server, stripe-mock.
func TestClusterVersionsMatchTheLocalRuntime(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "tools/runtime/build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	pin := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `=(\S+)$`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("tools/runtime/build.sh: no %s=", name)
		}
		return strings.TrimPrefix(string(m[1]), "v")
	}
	if v := pin("DAPR_VERSION"); v != daprVersion {
		t.Errorf("the local runtime is Dapr %s, the cluster %s", v, daprVersion)
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(root, "apps/Dockerfile.base"))), "ARG DAPR_VERSION="+daprVersion) {
		t.Errorf("apps/Dockerfile.base does not stamp daprd as %s", daprVersion)
	}
	dev := decodeCluster(t, "manifests/overlays/dev")
	images := map[string]string{}
	for _, tmpl := range dev.podTemplates() {
		for _, c := range tmpl.Spec.Containers {
			n, tag := splitImage(c.Image)
			images[n] = tag
		}
	}
	if tag, want := images["nats"], pin("NATS_SERVER_VERSION"); !strings.HasPrefix(tag, want+"-") && tag != want {
		t.Errorf("NATS image nats:%s, the local runner's nats-server %s", tag, want)
	}
	if tag, want := images["stripe/stripe-mock"], pin("STRIPE_MOCK_VERSION"); strings.TrimPrefix(tag, "v") != want {
		t.Errorf("stripe-mock image %s, the local runner's %s", tag, want)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
