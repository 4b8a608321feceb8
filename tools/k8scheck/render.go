package k8scheck

import (
	"fmt"
	"path/filepath"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Object is one rendered Kubernetes object.
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	Labels     map[string]string
	YAML       []byte         // as kustomize emits it
	Map        map[string]any // the same, decoded
}

// ID names the object in messages: Kind/name.
func (o Object) ID() string { return o.Kind + "/" + o.Name }

// Render builds the kustomization in dir (relative to root, or absolute) the
// way `kubectl kustomize dir` does: kustomize's Go API with its default
// options (load restrictor: files only from within the kustomization's root),
// on the real file system.
func Render(root, dir string) ([]Object, error) {
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	objs := make([]Object, 0, m.Size())
	for _, r := range m.Resources() {
		o, err := object(r)
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
		}
		objs = append(objs, o)
	}
	return objs, nil
}

func object(r *resource.Resource) (Object, error) {
	y, err := r.AsYAML()
	if err != nil {
		return Object{}, err
	}
	m, err := r.Map()
	if err != nil {
		return Object{}, err
	}
	return Object{
		APIVersion: r.GetApiVersion(),
		Kind:       r.GetKind(),
		Name:       r.GetName(),
		Namespace:  r.GetNamespace(),
		Labels:     r.GetLabels(),
		YAML:       y,
		Map:        m,
	}, nil
}

// Find returns the object of kind and name, if rendered.
func Find(objs []Object, kind, name string) (Object, bool) {
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			return o, true
		}
	}
	return Object{}, false
}

// objectFromYAML reads one YAML object, without kustomize.
func objectFromYAML(doc []byte) (Object, error) {
	var m map[string]any
	if err := yaml.Unmarshal(doc, &m); err != nil {
		return Object{}, err
	}
	meta, _ := m["metadata"].(map[string]any)
	o := Object{YAML: doc, Map: m, Labels: map[string]string{}}
	o.APIVersion, _ = m["apiVersion"].(string)
	o.Kind, _ = m["kind"].(string)
	o.Name, _ = meta["name"].(string)
	o.Namespace, _ = meta["namespace"].(string)
	if l, ok := meta["labels"].(map[string]any); ok {
		for k, v := range l {
			o.Labels[k] = fmt.Sprint(v)
		}
	}
	if o.Kind == "" || o.Name == "" {
		return Object{}, fmt.Errorf("an object without kind or name: %.80q", doc)
	}
	return o, nil
}
