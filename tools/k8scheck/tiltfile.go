package k8scheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
	"sigs.k8s.io/yaml"
)

// TiltCall is one call of a Tilt builtin (or of a Tilt extension's function)
// made while the Tiltfile ran.
type TiltCall struct {
	Fn     string         // docker_build, local_resource, helm_resource, ...
	File   string         // the Tiltfile, relative to the root, whose code made the call
	Args   map[string]any // every argument, positional ones under their parameter name
	Values []any          // positional arguments, in order
}

// TiltStep is a live_update step or a port forward: sync, run, port_forward.
type TiltStep struct {
	Kind string
	Args map[string]any
}

// TiltRun is what running a Tiltfile recorded.
type TiltRun struct {
	Root  string
	Calls []TiltCall
	Files []string // the Tiltfiles executed, relative to the root
}

// CallsOf returns the calls of one builtin, in order.
func (r *TiltRun) CallsOf(fn string) []TiltCall {
	var out []TiltCall
	for _, c := range r.Calls {
		if c.Fn == fn {
			out = append(out, c)
		}
	}
	return out
}

// tiltBuiltins are the Tilt builtins the project's Tiltfiles may call, with
// their parameters as Tilt declares them (docs.tilt.dev/api.html): an argument
// Tilt would refuse (an unknown keyword, a missing required parameter) is an
// error here too. A trailing "?" marks an optional parameter.
var tiltBuiltins = map[string][]string{
	"docker_build": {"ref", "context", "build_args?", "dockerfile?", "dockerfile_contents?", "live_update?",
		"match_in_env_vars?", "ignore?", "only?", "entrypoint?", "target?", "ssh?", "network?", "secret?",
		"extra_tag?", "container_args?", "cache_from?", "pull?", "platform?", "extra_hosts?"},
	"local_resource": {"name", "cmd?", "deps?", "trigger_mode?", "resource_deps?", "ignore?", "auto_init?",
		"serve_cmd?", "cmd_bat?", "serve_cmd_bat?", "allow_parallel?", "links?", "tags?", "env?", "serve_env?",
		"readiness_probe?", "dir?", "serve_dir?", "labels?"},
	"k8s_resource": {"workload?", "new_name?", "port_forwards?", "extra_pod_selectors?", "trigger_mode?",
		"resource_deps?", "objects?", "auto_init?", "pod_readiness?", "links?", "labels?", "discovery_strategy?"},
	"k8s_yaml":            {"yaml", "allow_duplicates?"},
	"k8s_image_json_path": {"paths", "api_version?", "kind?", "name?", "namespace?"},
	"k8s_kind":            {"kind", "api_version?", "image_json_path?", "image_object?", "pod_readiness?"},
	"k8s_custom_deploy": {"name", "apply_cmd", "delete_cmd", "deps", "image_selector?", "live_update?",
		"apply_dir?", "apply_env?", "apply_cmd_bat?", "delete_dir?", "delete_env?", "delete_cmd_bat?",
		"container_selector?", "image_deps?"},
	"update_settings":    {"max_parallel_updates?", "k8s_upsert_timeout_secs?", "suppress_unused_image_warnings?"},
	"version_settings":   {"check_updates?", "constraint?"},
	"allow_k8s_contexts": {"contexts"},
	"watch_file":         {"path"},
}

// stepBuiltins return a value (a live update step, a port forward) that other
// calls take as an argument.
var stepBuiltins = map[string][]string{
	"sync":         {"local_path", "remote_path"},
	"run":          {"cmd", "trigger?", "echo_off?"},
	"port_forward": {"local_port", "container_port?", "name?", "link_path?", "host?"},
}

// tiltExtensions are the functions of the Tilt extensions the Tiltfiles load
// (github.com/tilt-dev/tilt-extensions), with their parameters; "**" names
// the builtin whose parameters the extension passes its extra keywords to.
var tiltExtensions = map[string]map[string][]string{
	"restart_process": {
		"docker_build_with_restart": {"ref", "context", "entrypoint", "live_update", "base_suffix?", "restart_file?", "**docker_build"},
	},
	"helm_resource": {
		"helm_resource": {"name", "chart", "deps?", "release_name?", "namespace?", "image_deps?", "image_keys?",
			"flags?", "image_selector?", "container_selector?", "live_update?", "resource_deps?", "labels?",
			"port_forwards?", "auto_init?", "pod_readiness?", "update_dependencies?"},
		"helm_repo": {"name", "url", "resource_name?", "username?", "password?", "**local_resource"},
	},
}

// RunTiltfile runs the Tiltfile at root under go.starlark.net, the
// interpreter Tilt embeds, with Tilt's builtins replaced by stubs that record
// their calls. kustomize() really builds (with Render), and read_yaml and
// decode_yaml_stream really decode, so the Tiltfile computes what it would
// under Tilt. args are what follows `--` on the tilt command line.
func RunTiltfile(root string, args []string) (*TiltRun, error) {
	t := &tiltRuntime{run: &TiltRun{Root: root}, args: args, defined: map[string]string{}, loaded: map[string]starlark.StringDict{}}
	_, err := t.exec(filepath.Join(root, "Tiltfile"))
	if err != nil {
		var evalErr *starlark.EvalError
		if errors.As(err, &evalErr) {
			return t.run, errors.New(evalErr.Backtrace())
		}
		return t.run, err
	}
	return t.run, nil
}

type tiltRuntime struct {
	run     *TiltRun
	args    []string
	defined map[string]string // config settings: name -> type
	parsed  bool
	loaded  map[string]starlark.StringDict
}

func (t *tiltRuntime) exec(path string) (starlark.StringDict, error) {
	if g, ok := t.loaded[path]; ok {
		return g, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t.run.Files = append(t.run.Files, t.rel(path))
	thread := &starlark.Thread{Name: path, Load: t.load, Print: func(*starlark.Thread, string) {}}
	opts := &syntax.FileOptions{TopLevelControl: true}
	g, err := starlark.ExecFileOptions(opts, thread, path, src, t.predeclared())
	if err != nil {
		return nil, err
	}
	t.loaded[path] = g
	return g, nil
}

func (t *tiltRuntime) load(thread *starlark.Thread, module string) (starlark.StringDict, error) {
	if ext, ok := strings.CutPrefix(module, "ext://"); ok {
		fns, ok := tiltExtensions[ext]
		if !ok {
			return nil, fmt.Errorf("extension %q is not one this check knows", ext)
		}
		out := starlark.StringDict{}
		for name, params := range fns {
			out[name] = t.recorder(name, params)
		}
		return out, nil
	}
	return t.exec(t.abs(thread, module))
}

func (t *tiltRuntime) predeclared() starlark.StringDict {
	d := starlark.StringDict{}
	for name, params := range tiltBuiltins {
		d[name] = t.recorder(name, params)
	}
	for name, params := range stepBuiltins {
		d[name] = t.step(name, params)
	}
	d["include"] = starlark.NewBuiltin("include", t.include)
	d["kustomize"] = starlark.NewBuiltin("kustomize", t.kustomize)
	d["read_yaml"] = starlark.NewBuiltin("read_yaml", t.readYAML)
	d["read_file"] = starlark.NewBuiltin("read_file", t.readFile)
	d["decode_yaml_stream"] = starlark.NewBuiltin("decode_yaml_stream", decodeYAMLStream)
	d["config"] = &starlarkstruct.Module{Name: "config", Members: starlark.StringDict{
		"define_string_list":    starlark.NewBuiltin("config.define_string_list", t.define("string_list")),
		"define_string":         starlark.NewBuiltin("config.define_string", t.define("string")),
		"define_bool":           starlark.NewBuiltin("config.define_bool", t.define("bool")),
		"parse":                 starlark.NewBuiltin("config.parse", t.parse),
		"set_enabled_resources": t.recorder("config.set_enabled_resources", []string{"resources"}),
		"main_dir":              starlark.String(t.run.Root),
		"main_path":             starlark.String(filepath.Join(t.run.Root, "Tiltfile")),
		"tilt_subcommand":       starlark.String("up"),
	}}
	d["os"] = &starlarkstruct.Module{Name: "os", Members: starlark.StringDict{
		"name": starlark.String("posix"),
		"path": &starlarkstruct.Module{Name: "os.path", Members: starlark.StringDict{
			"join":    starlark.NewBuiltin("os.path.join", osPathJoin),
			"exists":  starlark.NewBuiltin("os.path.exists", t.osPathExists),
			"abspath": starlark.NewBuiltin("os.path.abspath", t.osPathAbspath),
			"dirname": starlark.NewBuiltin("os.path.dirname", osPathDirname),
		}},
	}}
	return d
}

// recorder is a stub builtin: it checks the arguments against params and
// records the call.
func (t *tiltRuntime) recorder(name string, params []string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		call, err := t.unpack(thread, name, params, args, kwargs)
		if err != nil {
			return nil, err
		}
		t.run.Calls = append(t.run.Calls, call)
		return starlark.None, nil
	})
}

func (t *tiltRuntime) unpack(thread *starlark.Thread, name string, params []string, args starlark.Tuple, kwargs []starlark.Tuple) (TiltCall, error) {
	var pass string // the builtin extra keywords go to
	var declared []string
	for _, p := range params {
		if b, ok := strings.CutPrefix(p, "**"); ok {
			pass = b
			continue
		}
		declared = append(declared, p)
	}
	own := map[string]bool{}
	for _, p := range declared {
		own[strings.TrimSuffix(p, "?")] = true
	}
	var extra []starlark.Tuple
	var mine []starlark.Tuple
	for _, kv := range kwargs {
		if k := string(kv[0].(starlark.String)); !own[k] && pass != "" {
			extra = append(extra, kv)
		} else {
			mine = append(mine, kv)
		}
	}
	values := make([]starlark.Value, len(declared))
	pairs := make([]any, 0, 2*len(declared))
	for i, p := range declared {
		pairs = append(pairs, p, &values[i])
	}
	if err := starlark.UnpackArgs(name, args, mine, pairs...); err != nil {
		return TiltCall{}, err
	}
	call := TiltCall{Fn: name, File: t.rel(callerFile(thread)), Args: map[string]any{}}
	for i, p := range declared {
		if values[i] != nil {
			call.Args[strings.TrimSuffix(p, "?")] = toGo(values[i])
		}
	}
	for _, a := range args {
		call.Values = append(call.Values, toGo(a))
	}
	if pass != "" {
		allowed := map[string]bool{}
		for _, p := range append(tiltBuiltins[pass], "name") {
			allowed[strings.TrimSuffix(p, "?")] = true
		}
		for _, kv := range extra {
			k := string(kv[0].(starlark.String))
			if !allowed[k] {
				return TiltCall{}, fmt.Errorf("%s: unexpected keyword argument %q (it passes extra keywords to %s)", name, k, pass)
			}
			call.Args[k] = toGo(kv[1])
		}
	}
	return call, nil
}

// step returns a builtin that builds a TiltStep value.
func (t *tiltRuntime) step(name string, params []string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		call, err := t.unpack(thread, name, params, args, kwargs)
		if err != nil {
			return nil, err
		}
		return &stepValue{TiltStep{Kind: name, Args: call.Args}}, nil
	})
}

type stepValue struct{ step TiltStep }

func (s *stepValue) String() string        { return s.step.Kind + "(...)" }
func (s *stepValue) Type() string          { return "live_update_" + s.step.Kind + "_step" }
func (s *stepValue) Freeze()               {}
func (s *stepValue) Truth() starlark.Bool  { return true }
func (s *stepValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", s.Type()) }

// include runs another Tiltfile, as Tilt's include() does.
func (t *tiltRuntime) include(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	t.run.Calls = append(t.run.Calls, TiltCall{Fn: "include", File: t.rel(callerFile(thread)), Args: map[string]any{"path": path}})
	_, err := t.exec(t.abs(thread, path))
	return starlark.None, err
}

// blob is what kustomize() returns, as Tilt's Blob: YAML text.
type blob struct{ text string }

func (b blob) String() string        { return b.text }
func (b blob) Type() string          { return "blob" }
func (b blob) Freeze()               {}
func (b blob) Truth() starlark.Bool  { return b.text != "" }
func (b blob) Hash() (uint32, error) { return starlark.String(b.text).Hash() }

func (t *tiltRuntime) kustomize(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dir string
	var bin starlark.Value
	var flags *starlark.List
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "pathToDir", &dir, "kustomize_bin?", &bin, "flags?", &flags); err != nil {
		return nil, err
	}
	if flags != nil && flags.Len() > 0 {
		return nil, errors.New("kustomize: flags (such as --load-restrictor) would make Tilt's build differ from kubectl apply -k")
	}
	abs := t.abs(thread, dir)
	t.run.Calls = append(t.run.Calls, TiltCall{Fn: "kustomize", File: t.rel(callerFile(thread)), Args: map[string]any{"pathToDir": dir}})
	objs, err := Render(t.run.Root, abs)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(o.YAML)
	}
	return blob{text: b.String()}, nil
}

func (t *tiltRuntime) readYAML(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var def starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "paths", &path, "default?", &def); err != nil {
		return nil, err
	}
	t.run.Calls = append(t.run.Calls, TiltCall{Fn: "read_yaml", File: t.rel(callerFile(thread)), Args: map[string]any{"paths": path}})
	b, err := os.ReadFile(t.abs(thread, path))
	if err != nil {
		if def != nil {
			return def, nil
		}
		return nil, err
	}
	return yamlToStarlark(b)
}

func (t *tiltRuntime) readFile(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var def starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "paths", &path, "default?", &def); err != nil {
		return nil, err
	}
	t.run.Calls = append(t.run.Calls, TiltCall{Fn: "read_file", File: t.rel(callerFile(thread)), Args: map[string]any{"paths": path}})
	b, err := os.ReadFile(t.abs(thread, path))
	if err != nil {
		if def != nil {
			return def, nil
		}
		return nil, err
	}
	return blob{text: string(b)}, nil
}

func decodeYAMLStream(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "yaml", &v); err != nil {
		return nil, err
	}
	var text string
	switch v := v.(type) {
	case blob:
		text = v.text
	case starlark.String:
		text = string(v)
	default:
		return nil, fmt.Errorf("decode_yaml_stream: got %s, want a string or blob", v.Type())
	}
	var out []starlark.Value
	for _, doc := range strings.Split("\n"+text, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		sv, err := yamlToStarlark([]byte(doc))
		if err != nil {
			return nil, err
		}
		out = append(out, sv)
	}
	return starlark.NewList(out), nil
}

func (t *tiltRuntime) define(kind string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name, usage string
		var isArgs bool
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name", &name, "args?", &isArgs, "usage?", &usage); err != nil {
			return nil, err
		}
		if t.parsed {
			return nil, fmt.Errorf("%s(%q) after config.parse()", fn.Name(), name)
		}
		if isArgs {
			t.defined["\x00args"] = name
		}
		t.defined[name] = kind
		t.run.Calls = append(t.run.Calls, TiltCall{Fn: fn.Name(), File: t.rel(callerFile(thread)), Args: map[string]any{"name": name, "args": isArgs, "usage": usage}})
		return starlark.None, nil
	}
}

// parse returns what Tilt would: the settings given, here the positional
// args for the setting defined with args=True.
func (t *tiltRuntime) parse(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
		return nil, err
	}
	t.parsed = true
	d := starlark.NewDict(1)
	if len(t.args) == 0 {
		return d, nil
	}
	name, ok := t.defined["\x00args"]
	if !ok {
		return nil, errors.New("positional args given, but no setting takes them")
	}
	switch t.defined[name] {
	case "string_list":
		var l []starlark.Value
		for _, a := range t.args {
			l = append(l, starlark.String(a))
		}
		return d, d.SetKey(starlark.String(name), starlark.NewList(l))
	case "string":
		return d, d.SetKey(starlark.String(name), starlark.String(strings.Join(t.args, " ")))
	}
	return nil, fmt.Errorf("setting %q cannot take args", name)
}

func osPathJoin(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword arguments", fn.Name())
	}
	parts := make([]string, len(args))
	for i, a := range args {
		s, ok := starlark.AsString(a)
		if !ok {
			return nil, fmt.Errorf("%s: argument %d is %s, want a string", fn.Name(), i+1, a.Type())
		}
		parts[i] = s
	}
	return starlark.String(filepath.Join(parts...)), nil
}

func osPathDirname(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &p); err != nil {
		return nil, err
	}
	return starlark.String(filepath.Dir(p)), nil
}

func (t *tiltRuntime) osPathExists(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &p); err != nil {
		return nil, err
	}
	_, err := os.Stat(t.abs(thread, p))
	return starlark.Bool(err == nil), nil
}

func (t *tiltRuntime) osPathAbspath(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var p string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "path", &p); err != nil {
		return nil, err
	}
	return starlark.String(t.abs(thread, p)), nil
}

// abs resolves a path the way current Tilt does: relative to the directory of
// the Tiltfile whose code is running (the innermost Starlark frame).
func (t *tiltRuntime) abs(thread *starlark.Thread, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(filepath.Dir(callerFile(thread)), path)
}

func (t *tiltRuntime) rel(path string) string {
	if r, err := filepath.Rel(t.run.Root, path); err == nil {
		return r
	}
	return path
}

// callerFile is the file of the innermost Starlark frame calling a builtin.
func callerFile(thread *starlark.Thread) string {
	for i := 0; i < thread.CallStackDepth(); i++ {
		if f := thread.CallFrame(i).Pos.Filename(); f != "<builtin>" {
			return f
		}
	}
	return thread.Name
}

// yamlToStarlark decodes YAML into Starlark values (dicts with sorted keys,
// lists, strings, numbers, booleans, None), as Tilt's read_yaml does.
func yamlToStarlark(b []byte) (starlark.Value, error) {
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return goToStarlark(v)
}

func goToStarlark(v any) (starlark.Value, error) {
	switch v := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(v), nil
	case string:
		return starlark.String(v), nil
	case float64:
		if v == float64(int64(v)) {
			return starlark.MakeInt64(int64(v)), nil
		}
		return starlark.Float(v), nil
	case int64:
		return starlark.MakeInt64(v), nil
	case json.Number:
		return starlark.String(v.String()), nil
	case []any:
		out := make([]starlark.Value, len(v))
		for i, e := range v {
			sv, err := goToStarlark(e)
			if err != nil {
				return nil, err
			}
			out[i] = sv
		}
		return starlark.NewList(out), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(v))
		for _, k := range keys {
			sv, err := goToStarlark(v[k])
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), sv); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("cannot convert %T to Starlark", v)
}

// toGo converts a Starlark value to plain Go values for the checks.
func toGo(v starlark.Value) any {
	switch v := v.(type) {
	case starlark.NoneType:
		return nil
	case starlark.Bool:
		return bool(v)
	case starlark.String:
		return string(v)
	case blob:
		return v.text
	case starlark.Int:
		i, _ := v.Int64()
		return i
	case starlark.Float:
		return float64(v)
	case *stepValue:
		return v.step
	case *starlark.List:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = toGo(v.Index(i))
		}
		return out
	case starlark.Tuple:
		out := make([]any, len(v))
		for i := range v {
			out[i] = toGo(v[i])
		}
		return out
	case *starlark.Dict:
		out := map[string]any{}
		for _, item := range v.Items() {
			k, _ := starlark.AsString(item[0])
			out[k] = toGo(item[1])
		}
		return out
	}
	return v.String()
}
