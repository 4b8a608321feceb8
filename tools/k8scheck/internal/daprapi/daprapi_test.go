package daprapi_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The upstream module the copies come from, and the one type copied from the
// API server's module (the version dapr v1.18.3 requires).
const (
	daprModule    = "github.com/dapr/dapr@v1.18.3"
	apiextModule  = "k8s.io/apiextensions-apiserver@v0.31.0"
	localPrefix   = "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/"
	daprAPIPrefix = "github.com/dapr/dapr/pkg/apis/"
	apiextPath    = "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// What the copies leave out on purpose (README.md): each removal pulls in
// dapr/utils or controller-runtime.
var removed = map[string]map[string]bool{
	"components/v1alpha1":    {"func Component.LogName": true, "func Component.ClientObject": true},
	"configuration/v1alpha1": {"func Configuration.ClientObject": true},
	"resiliency/v1alpha1":    {"func Resiliency.ClientObject": true},
	"subscriptions/v2alpha1": {"func Subscription.ClientObject": true},
}

var skippedFiles = map[string]bool{
	"subscriptions/v2alpha1/conversion.go": true, // the v1alpha1 conversion hub
}

func TestCopiesMatchDapr(t *testing.T) {
	upstream := moduleDir(t, daprModule)
	for _, pkg := range []string{
		"common", "components", "components/v1alpha1", "configuration", "configuration/v1alpha1",
		"resiliency", "resiliency/v1alpha1", "subscriptions", "subscriptions/v2alpha1",
	} {
		t.Run(pkg, func(t *testing.T) {
			want := decls(t, filepath.Join(upstream, "pkg/apis", pkg), pkg)
			got := decls(t, pkg, pkg)
			compare(t, want, got, removed[pkg])
		})
	}
}

func TestJSONMatchesAPIServer(t *testing.T) {
	upstream := decls(t, filepath.Join(moduleDir(t, apiextModule), "pkg/apis/apiextensions/v1"), "")
	got := decls(t, "apiextv1", "")
	for name := range upstream {
		switch name {
		case "type JSON", "func JSON.MarshalJSON", "func *JSON.UnmarshalJSON", "func *JSON.DeepCopyInto", "func *JSON.DeepCopy", "var nullLiteral":
		default:
			delete(upstream, name)
		}
	}
	if len(upstream) != 6 {
		t.Fatalf("found %d of the 6 declarations in %s", len(upstream), apiextModule)
	}
	compare(t, upstream, got, nil)
}

func compare(t *testing.T, want, got map[string]string, allowMissing map[string]bool) {
	t.Helper()
	for _, name := range sorted(want) {
		g, ok := got[name]
		switch {
		case !ok && allowMissing[name]:
		case !ok:
			t.Errorf("%s is upstream but not copied", name)
		case g != want[name]:
			t.Errorf("%s differs from upstream:\nupstream: %s\ncopy:     %s", name, want[name], g)
		}
	}
	for _, name := range sorted(got) {
		if _, ok := want[name]; !ok {
			t.Errorf("%s is not upstream", name)
		}
	}
}

// decls returns every top-level declaration of the package in dir, printed
// without comments and with package qualifiers replaced by a canonical name of
// the imported package, keyed by "type T", "func Recv.Name", "const N", "var N".
func decls(t *testing.T, dir, pkg string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || skippedFiles[pkg+"/"+name] {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		canonicalizeImports(f)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				out["func "+recv(d)+d.Name.Name] = printNode(t, fset, d)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						out["type "+s.Name.Name] = printNode(t, fset, s)
					case *ast.ValueSpec:
						for i, n := range s.Names {
							v := ""
							if i < len(s.Values) {
								v = printNode(t, fset, s.Values[i])
							}
							if s.Type != nil {
								v = printNode(t, fset, s.Type) + " = " + v
							}
							out[d.Tok.String()+" "+n.Name] = v
						}
					}
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no declarations in %s", dir)
	}
	return out
}

// canonicalizeImports renames every use of an imported package to a name
// derived from its path, mapping the upstream and the copied paths to the same
// name, so that `common.Scoped` compares equal in both trees.
func canonicalizeImports(f *ast.File) {
	names := map[string]string{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		canon := path
		switch {
		case strings.HasPrefix(path, daprAPIPrefix):
			canon = "daprapi/" + strings.TrimPrefix(path, daprAPIPrefix)
		case strings.HasPrefix(path, localPrefix):
			canon = "daprapi/" + strings.TrimPrefix(path, localPrefix)
		}
		if canon == "daprapi/apiextv1" || path == apiextPath {
			canon = "apiextv1"
		}
		local := filepath.Base(path)
		if imp.Name != nil {
			local = imp.Name.Name
		}
		names[local] = strings.NewReplacer("/", "_", ".", "_", "-", "_").Replace(canon)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				if c, ok := names[id.Name]; ok {
					id.Name = c
				}
			}
		}
		return true
	})
}

func recv(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return ""
	}
	switch r := d.Recv.List[0].Type.(type) {
	case *ast.StarExpr:
		return "*" + r.X.(*ast.Ident).Name + "."
	case *ast.Ident:
		return r.Name + "."
	}
	return "?."
}

func printNode(t *testing.T, fset *token.FileSet, n ast.Node) string {
	t.Helper()
	if fd, ok := n.(*ast.FuncDecl); ok {
		fd.Doc = nil
	}
	var b bytes.Buffer
	if err := (&printer.Config{Mode: printer.RawFormat}).Fprint(&b, fset, n); err != nil {
		t.Fatal(err)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// moduleDir finds a module version in the module cache, or skips: the
// comparison needs the upstream source, which is there on any machine that
// built the Dapr runtime (make runtime, make up), and never needs the network.
func moduleDir(t *testing.T, modVersion string) string {
	t.Helper()
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
			cache = strings.TrimSpace(string(out))
		}
	}
	dir := filepath.Join(cache, modVersion)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Skipf("%s is not in the module cache (%s); run `make runtime` once to compare the copies with it", modVersion, cache)
	}
	return dir
}

func sorted(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
