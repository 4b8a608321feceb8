package k8scheck

import (
	"sync"
	"testing"
)

// The kustomizations that must build: both overlays, and the bases they are
// made of, on their own.
var kustomizations = []string{
	"manifests/overlays/dev",
	"manifests/overlays/gke",
	"manifests/base",
	"components/cluster",
}

var (
	rendered   = map[string][]Object{}
	renderErrs = map[string]error{}
	renderOnce sync.Once
)

// render returns the objects of a kustomization, rendered once per test run.
func render(t *testing.T, dir string) []Object {
	t.Helper()
	root := repoRoot(t)
	renderOnce.Do(func() {
		for _, k := range kustomizations {
			rendered[k], renderErrs[k] = Render(root, k)
		}
	})
	objs, ok := rendered[dir]
	if !ok {
		t.Fatalf("%s is not in kustomizations", dir)
	}
	if err := renderErrs[dir]; err != nil {
		t.Fatal(err)
	}
	return objs
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestKustomizationsRender(t *testing.T) {
	for _, k := range kustomizations {
		t.Run(k, func(t *testing.T) {
			objs := render(t, k)
			if len(objs) == 0 {
				t.Fatal("rendered nothing")
			}
		})
	}
}

func TestRenderedObjectsDecodeStrictly(t *testing.T) {
	for _, k := range kustomizations {
		t.Run(k, func(t *testing.T) {
			for _, o := range render(t, k) {
				if _, err := Decode(o.YAML); err != nil {
					t.Errorf("%s: %v", o.ID(), err)
				}
			}
		})
	}
}
