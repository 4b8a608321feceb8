package k8scheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// The Gateway API's Go types hold both of its release channels: a field of
// the experimental channel decodes like any other, yet GKE installs the
// standard channel's CRDs, which do not have it (the API server drops it, or
// refuses it under strict validation). The types mark those fields
// `<gateway:experimental>` in their doc comments; these tests read the
// markers from the module's own source and refuse a manifest that sets one.

// experimentalFields returns "Type.jsonName" for every field of
// sigs.k8s.io/gateway-api/apis/v1 marked <gateway:experimental>.
func experimentalFields(t *testing.T) map[string]bool {
	t.Helper()
	dir := filepath.Join(gatewayAPIModuleDir(t), "apis", "v1")
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok {
					return true
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					return false
				}
				for _, field := range st.Fields.List {
					if field.Doc == nil || field.Tag == nil || !strings.Contains(field.Doc.Text(), "<gateway:experimental>") {
						continue
					}
					tag := reflect.StructTag(strings.Trim(field.Tag.Value, "`")).Get("json")
					if name, _, _ := strings.Cut(tag, ","); name != "" {
						out[ts.Name.Name+"."+name] = true
					}
				}
				return false
			})
		}
	}
	if len(out) < 10 {
		t.Fatalf("found %d experimental fields in %s; the markers have changed", len(out), dir)
	}
	return out
}

// gatewayAPIModuleDir is where the module this package builds with is (in
// the module cache), as the go command resolves it.
func gatewayAPIModuleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("go list -m sigs.k8s.io/gateway-api: %v %s", err, out)
	}
	return dir
}

// experimentalUses walks an object's fields along its Go type and lists the
// experimental ones it sets, by path.
func experimentalUses(obj map[string]any, typ reflect.Type, experimental map[string]bool) []string {
	var out []string
	var walk func(v any, typ reflect.Type, path string)
	walk = func(v any, typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		switch typ.Kind() {
		case reflect.Struct:
			m, ok := v.(map[string]any)
			if !ok {
				return
			}
			fields := jsonFields(typ)
			for _, k := range sortedKeys(m) {
				f, ok := fields[k]
				if !ok {
					continue // strict decoding reports it
				}
				if f.owner.PkgPath() == reflect.TypeOf(gatewayv1.Gateway{}).PkgPath() && experimental[f.owner.Name()+"."+k] {
					out = append(out, path+"."+k)
				}
				walk(m[k], f.typ, path+"."+k)
			}
		case reflect.Slice:
			if l, ok := v.([]any); ok {
				for i, e := range l {
					walk(e, typ.Elem(), fmt.Sprintf("%s[%d]", path, i))
				}
			}
		case reflect.Map:
			if m, ok := v.(map[string]any); ok {
				for k, e := range m {
					walk(e, typ.Elem(), path+"."+k)
				}
			}
		}
	}
	walk(obj, typ, "")
	sort.Strings(out)
	return out
}

type jsonField struct {
	typ   reflect.Type
	owner reflect.Type // the struct that declares it
}

// jsonFields maps the JSON names of a struct's fields, inline embedded
// structs included, to their types.
func jsonFields(typ reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) && ft.Kind() == reflect.Struct {
			for k, v := range jsonFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		out[name] = jsonField{typ: f.Type, owner: typ}
	}
	return out
}

// Every Gateway API object the overlays and Tilt apply uses standard-channel
// fields only.
func TestEdgeUsesStandardChannelFieldsOnly(t *testing.T) {
	experimental := experimentalFields(t)
	var objs []Object
	for _, o := range overlays {
		objs = append(objs, render(t, o)...)
	}
	class, err := objectFromYAML(mustRead(t, filepath.Join(repoRoot(t), "tilt/gatewayclass.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, class)
	n := 0
	for _, o := range objs {
		if !strings.HasPrefix(o.APIVersion, gatewayv1.GroupName+"/") {
			continue
		}
		n++
		if uses := experimentalUsesOf(t, o, experimental); len(uses) > 0 {
			t.Errorf("%s sets experimental-channel fields %v, which the standard CRDs (GKE's) do not have", o.ID(), uses)
		}
	}
	if n < 5 {
		t.Errorf("checked %d Gateway API objects, want the Gateways, routes and the class", n)
	}
	// And a doctored route is caught: retries are experimental in v1.4.
	o, _ := Find(render(t, "manifests/overlays/gke"), "HTTPRoute", routeName)
	var m map[string]any
	if err := yaml.Unmarshal(o.YAML, &m); err != nil {
		t.Fatal(err)
	}
	rules := m["spec"].(map[string]any)["rules"].([]any)
	rules[0].(map[string]any)["retry"] = map[string]any{"attempts": 2}
	if uses := experimentalUses(m, reflect.TypeOf(gatewayv1.HTTPRoute{}), experimental); !reflect.DeepEqual(uses, []string{".spec.rules[0].retry"}) {
		t.Errorf("a route with retries: experimental fields %v, want .spec.rules[0].retry", uses)
	}
}

func experimentalUsesOf(t *testing.T, o Object, experimental map[string]bool) []string {
	t.Helper()
	obj, err := Decode(o.YAML)
	if err != nil {
		t.Fatalf("%s: %v", o.ID(), err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(o.YAML, &m); err != nil {
		t.Fatal(err)
	}
	return experimentalUses(m, reflect.TypeOf(obj).Elem(), experimental)
}
