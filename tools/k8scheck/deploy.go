package k8scheck

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// ImagePrefix is the name every image of ours has in the manifests; Tilt and
// the pipeline replace it.
const ImagePrefix = "ticketing/"

// sidecarImageConfig teaches kustomize's images transformer that the
// dapr.io/sidecar-image annotation of a pod template is an image reference,
// so `images:` rewrites it like a container image.
const sidecarImageConfig = `images:
  - path: spec/template/metadata/annotations/dapr.io\/sidecar-image
    kind: Deployment
`

// RenderForDeploy renders an overlay with our images renamed: each
// ticketing/<name> becomes images[name] (a full reference, registry/name:tag),
// in containers and in the sidecar annotation alike. It builds a throwaway
// kustomization on top of the overlay (kustomize's own images transformer),
// so what it prints is what `kubectl apply -k` would apply after
// `kustomize edit set image`.
func RenderForDeploy(root, overlay string, images map[string]string) ([]Object, error) {
	dir, err := os.MkdirTemp("", "k8scheck-render-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	abs := overlay
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(root, overlay)
	}
	relOverlay, err := filepath.Rel(dir, abs)
	if err != nil {
		return nil, err
	}
	type image struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	}
	k := struct {
		APIVersion     string   `json:"apiVersion"`
		Kind           string   `json:"kind"`
		Resources      []string `json:"resources"`
		Configurations []string `json:"configurations"`
		Images         []image  `json:"images"`
	}{
		APIVersion:     "kustomize.config.k8s.io/v1beta1",
		Kind:           "Kustomization",
		Resources:      []string{relOverlay},
		Configurations: []string{"sidecar-image.yaml"},
	}
	names := make([]string, 0, len(images))
	for n := range images {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ref := images[n]
		img := image{Name: ImagePrefix + n}
		switch name, tag := splitRef(ref); {
		case strings.HasPrefix(tag, "sha256:"):
			img.NewName, img.Digest = name, tag
		default:
			img.NewName, img.NewTag = name, tag
		}
		if img.NewName == "" {
			return nil, fmt.Errorf("image %s: empty reference", n)
		}
		k.Images = append(k.Images, img)
	}
	b, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), b, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "sidecar-image.yaml"), []byte(sidecarImageConfig), 0o644); err != nil {
		return nil, err
	}
	objs, err := Render(root, dir)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if s := string(o.YAML); strings.Contains(s, " "+ImagePrefix) {
			return nil, fmt.Errorf("%s still names an image %s...: give every image (%v)", o.ID(), ImagePrefix, names)
		}
	}
	return objs, nil
}

// splitRef splits name:tag or name@sha256:digest.
func splitRef(ref string) (name, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i], ref[i+1:]
	}
	return ref, ""
}
