package k8scheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
)

// What the Go sources say, read with go/parser so that this module depends on
// none of them: each app's settings and their defaults (config.go), and the
// event contract's topics (apps/pkg/events).

// appSettings returns the defaults an app's loadConfig reads, keyed by
// environment variable: env.String("STATE_STORE", "auth-store") gives
// STATE_STORE=auth-store. A default that names a constant of the events
// package (events.PubSub) is resolved.
func appSettings(t *testing.T, root, app string) map[string]string {
	t.Helper()
	consts := packageConsts(t, filepath.Join(root, "apps/pkg/events"))
	f := parseFile(t, filepath.Join(root, "apps", app, "config.go"))
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 2 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "env" {
			return true
		}
		name, ok := stringLit(call.Args[0])
		if !ok {
			return true
		}
		switch def := call.Args[1].(type) {
		case *ast.BasicLit:
			out[name], _ = strconv.Unquote(def.Value)
		case *ast.SelectorExpr:
			if pkg, ok := def.X.(*ast.Ident); ok && pkg.Name == "events" {
				v, ok := consts[def.Sel.Name]
				if !ok {
					t.Fatalf("%s: events.%s is not a string constant", app, def.Sel.Name)
				}
				out[name] = v
			}
		}
		return true
	})
	if len(out) == 0 {
		t.Fatalf("apps/%s/config.go: no env.X(NAME, default) calls found", app)
	}
	return out
}

// eventTopics returns the values of the events package's Topic constants.
func eventTopics(t *testing.T, root string) []string {
	t.Helper()
	var topics []string
	for _, f := range parseDir(t, filepath.Join(root, "apps/pkg/events")) {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Topic" {
					continue
				}
				for _, v := range vs.Values {
					if s, ok := stringLit(v); ok {
						topics = append(topics, s)
					}
				}
			}
		}
	}
	if len(topics) == 0 {
		t.Fatal("apps/pkg/events: no Topic constants")
	}
	return topics
}

// meshTopics returns the subjects the local runner gives its stream
// (tools/mesh: var topics = []string{...}).
func meshTopics(t *testing.T, root string) []string {
	t.Helper()
	for _, f := range parseDir(t, filepath.Join(root, "tools/mesh")) {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				if len(vs.Names) != 1 || vs.Names[0].Name != "topics" || len(vs.Values) != 1 {
					continue
				}
				var out []string
				for _, e := range vs.Values[0].(*ast.CompositeLit).Elts {
					if s, ok := stringLit(e); ok {
						out = append(out, s)
					}
				}
				return out
			}
		}
	}
	t.Fatal("tools/mesh: no var topics")
	return nil
}

func packageConsts(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range parseDir(t, dir) {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if v, ok := stringLit(vs.Values[i]); ok {
							out[n.Name] = v
						}
					}
				}
			}
		}
	}
	return out
}

func parseFile(t *testing.T, path string) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, m := range matches {
		if filepath.Ext(m) == ".go" && !isTestFile(m) {
			files = append(files, parseFile(t, m))
		}
	}
	if len(files) == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
	return files
}

func isTestFile(path string) bool {
	b := filepath.Base(path)
	return len(b) > 8 && b[len(b)-8:] == "_test.go"
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
