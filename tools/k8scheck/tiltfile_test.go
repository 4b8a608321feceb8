package k8scheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

var (
	tiltOnce sync.Once
	tiltRun  *TiltRun
	tiltErr  error
)

// runTilt runs the Tiltfile once, as `tilt up` with no args.
func runTilt(t *testing.T) *TiltRun {
	t.Helper()
	tiltOnce.Do(func() { tiltRun, tiltErr = RunTiltfile(repoRoot(t), nil) })
	if tiltErr != nil {
		t.Fatalf("Tiltfile: %v", tiltErr)
	}
	return tiltRun
}

// tiltResource is a resource of the Tilt UI, as Tilt would assemble it.
type tiltResource struct {
	name    string
	kind    string // local, helm, k8s
	labels  []string
	deps    []string
	objects []Object // k8s objects it applies
}

// tiltModel rebuilds Tilt's resources from the recorded calls and the
// rendered YAML: a local_resource or helm_repo is a local resource, a
// helm_resource a resource of its own, each workload of k8s_yaml a resource
// named after it (with the Services that select its pods), k8s_resource
// (new_name, objects) a resource of the objects it claims.
func tiltModel(t *testing.T, run *TiltRun) (map[string]*tiltResource, []string) {
	t.Helper()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	res := map[string]*tiltResource{}
	add := func(name, kind string) *tiltResource {
		if _, dup := res[name]; dup {
			bad("two resources named %q", name)
		}
		r := &tiltResource{name: name, kind: kind}
		res[name] = r
		return r
	}
	strs := func(v any) []string {
		var out []string
		for _, x := range asList(v) {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	for _, c := range run.Calls {
		switch c.Fn {
		case "local_resource":
			r := add(c.Args["name"].(string), "local")
			r.labels, r.deps = strs(c.Args["labels"]), strs(c.Args["resource_deps"])
		case "helm_repo":
			name, _ := c.Args["resource_name"].(string)
			if name == "" {
				name = c.Args["name"].(string)
			}
			r := add(name, "local")
			r.labels, r.deps = strs(c.Args["labels"]), strs(c.Args["resource_deps"])
		case "helm_resource":
			r := add(c.Args["name"].(string), "helm")
			r.labels, r.deps = strs(c.Args["labels"]), strs(c.Args["resource_deps"])
		}
	}
	// k8s_yaml: every workload becomes a resource; the other objects wait to
	// be claimed.
	var objs []Object
	for _, c := range run.CallsOf("k8s_yaml") {
		text, _ := c.Args["yaml"].(string)
		for _, doc := range strings.Split("\n"+text, "\n---\n") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			o, err := objectFromYAML([]byte(doc))
			if err != nil {
				bad("k8s_yaml: %v", err)
				continue
			}
			objs = append(objs, o)
		}
	}
	claimed := map[int]string{}
	for i, o := range objs {
		if isWorkload(o.Kind) {
			add(o.Name, "k8s").objects = []Object{o}
			claimed[i] = o.Name
		}
	}
	for i, o := range objs {
		if o.Kind != "Service" {
			continue
		}
		sel, _ := nested(o.Map, "spec", "selector").(map[string]any)
		var owners []string
		for _, w := range objs {
			if isWorkload(w.Kind) {
				labels, _ := nested(w.Map, "spec", "template", "metadata", "labels").(map[string]any)
				if selects(stringMap(sel), stringMap(labels)) {
					owners = append(owners, w.Name)
				}
			}
		}
		if len(owners) != 1 {
			bad("Service %s selects the pods of %v; Tilt attaches a Service to exactly one workload", o.Name, owners)
			continue
		}
		res[owners[0]].objects = append(res[owners[0]].objects, o)
		claimed[i] = owners[0]
	}
	// k8s_resource: new resources from objects, settings for existing ones.
	for _, c := range run.CallsOf("k8s_resource") {
		name, _ := c.Args["workload"].(string)
		if nn, ok := c.Args["new_name"].(string); ok {
			if name == "" {
				name = nn
				add(nn, "k8s")
			} else {
				bad("k8s_resource(%q, new_name=%q): renaming is not used here", name, nn)
			}
		}
		r, ok := res[name]
		if !ok {
			bad("k8s_resource(%q): no such workload or resource", name)
			continue
		}
		r.labels = append(r.labels, strs(c.Args["labels"])...)
		r.deps = append(r.deps, strs(c.Args["resource_deps"])...)
		for _, sel := range strs(c.Args["objects"]) {
			var hits []int
			for i, o := range objs {
				if selectorMatches(sel, o) {
					hits = append(hits, i)
				}
			}
			if len(hits) != 1 {
				bad("k8s_resource(%q): object selector %q matches %d objects, want 1", name, sel, len(hits))
				continue
			}
			if prev, ok := claimed[hits[0]]; ok {
				bad("%s is claimed by both %q and %q", objs[hits[0]].ID(), prev, name)
				continue
			}
			claimed[hits[0]] = name
			r.objects = append(r.objects, objs[hits[0]])
		}
	}
	for i, o := range objs {
		if _, ok := claimed[i]; !ok {
			bad("%s belongs to no resource (Tilt would put it in 'uncategorized', applied in no particular order)", o.ID())
		}
	}
	return res, problems
}

func isWorkload(kind string) bool {
	switch kind {
	case "Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet", "CronJob", "Pod":
		return true
	}
	return false
}

// selectorMatches is Tilt's object selector: name[:kind[:namespace]], each
// part matched whole and case-insensitively.
func selectorMatches(sel string, o Object) bool {
	parts := strings.Split(sel, ":")
	want := []string{o.Name, o.Kind, o.Namespace}
	if len(parts) > 3 {
		return false
	}
	for i, p := range parts {
		if !strings.EqualFold(p, want[i]) {
			return false
		}
	}
	return true
}

func TestTiltfileRuns(t *testing.T) {
	run := runTilt(t)
	for _, f := range []string{"Tiltfile", "tilt/cluster.Tiltfile", "tilt/apps.Tiltfile"} {
		if !contains(run.Files, f) {
			t.Errorf("%s was not executed (executed: %v)", f, run.Files)
		}
	}
	// What Tilt applies: the dev overlay, and the Gateway class beside Envoy
	// Gateway's chart (cluster-scoped, outside the overlay).
	if len(run.CallsOf("k8s_yaml")) != 2 || len(run.CallsOf("kustomize")) != 1 {
		t.Errorf("want two k8s_yaml calls: kustomize(...) of the dev overlay and the Gateway class")
	}
	var readClass bool
	for _, c := range run.CallsOf("read_file") {
		readClass = readClass || c.Args["paths"] == filepath.Join(run.Root, "tilt/gatewayclass.yaml")
	}
	if !readClass {
		t.Errorf("the Tiltfile does not read tilt/gatewayclass.yaml")
	}
	if k := run.CallsOf("kustomize"); len(k) == 1 && k[0].Args["pathToDir"] != "manifests/overlays/dev" {
		t.Errorf("kustomize(%v), want the dev overlay", k[0].Args["pathToDir"])
	}
}

// Every resource exists, is labelled, and depends only on resources that
// exist, without cycles; every object of the dev overlay is in exactly one
// resource.
func TestTiltResourcesAreComplete(t *testing.T) {
	res, problems := tiltModel(t, runTilt(t))
	for _, p := range problems {
		t.Error(p)
	}
	for _, r := range res {
		if len(r.labels) != 1 || !contains([]string{"apps", "dapr", "infra"}, r.labels[0]) {
			t.Errorf("resource %s: labels %v, want one of apps, dapr, infra", r.name, r.labels)
		}
		for _, d := range r.deps {
			if res[d] == nil {
				t.Errorf("resource %s depends on %q, which is no resource", r.name, d)
			}
		}
	}
	// no cycles
	state := map[string]int{}
	var visit func(n string, path []string)
	visit = func(n string, path []string) {
		switch state[n] {
		case 1:
			t.Errorf("dependency cycle: %s", strings.Join(append(path, n), " -> "))
			return
		case 2:
			return
		}
		state[n] = 1
		if r := res[n]; r != nil {
			for _, d := range r.deps {
				visit(d, append(path, n))
			}
		}
		state[n] = 2
	}
	for n := range res {
		visit(n, nil)
	}
}

// The order that matters on a fresh cluster: Dapr's CRDs before the Dapr
// resources, the sidecar injector before any app pod, each app after its
// binary, its database and its stream; the Gateway after Envoy Gateway's
// chart (the Gateway API CRDs) and its class, the origin after the Gateway.
func TestTiltOrdersTheFirstDeploy(t *testing.T) {
	root := repoRoot(t)
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := tiltModel(t, runTilt(t))
	dev := decodeCluster(t, "manifests/overlays/dev")
	needs := func(r, dep string) {
		t.Helper()
		if res[r] == nil {
			t.Errorf("no resource %s", r)
			return
		}
		if !dependsOn(res, r, dep) {
			t.Errorf("%s does not wait for %s", r, dep)
		}
	}
	needs("dapr", "dapr-repo")
	needs("gateway-class", "envoy-gateway")
	needs("dapr-resources", "dapr")
	needs("gateway", "envoy-gateway")
	needs("gateway", "gateway-class")
	needs("origin", "gateway")
	needs("nats-stream", "nats")
	for _, r := range res["dapr-resources"].objects {
		if !strings.HasPrefix(r.APIVersion, "dapr.io/") {
			t.Errorf("dapr-resources holds %s", r.ID())
		}
	}
	for _, r := range append(res["gateway"].objects, res["gateway-class"].objects...) {
		if !strings.HasPrefix(r.APIVersion, "gateway.networking.k8s.io/") {
			t.Errorf("the gateway resources hold %s", r.ID())
		}
	}
	for _, app := range rf.AppIDs() {
		needs(app, "dapr")
		needs(app, "dapr-resources")
		needs(app, "cluster-config")
		needs(app, app+"-compile")
		if contains(res[app].labels, "apps") == false {
			t.Errorf("%s is not labelled apps", app)
		}
		if _, ok := dev.components[app+"-store"]; ok {
			needs(app, app+"-mongo")
		}
		for _, c := range dev.components {
			if strings.HasPrefix(c.Spec.Type, "pubsub.") && contains(c.Scopes, app) {
				needs(app, "nats-stream")
				break
			}
		}
	}
}

func dependsOn(res map[string]*tiltResource, from, to string) bool {
	seen := map[string]bool{}
	var walk func(n string) bool
	walk = func(n string) bool {
		if seen[n] {
			return false
		}
		seen[n] = true
		for _, d := range res[n].deps {
			if d == to || (res[d] != nil && walk(d)) {
				return true
			}
		}
		return false
	}
	return res[from] != nil && walk(from)
}

// Dapr and Envoy Gateway come from their charts, pinned; the origin,
// localhost:8080, is forwarded to port 80 of the Service Envoy Gateway runs
// for the dev overlay's Gateway (its http listener).
func TestTiltInstallsTheControlPlane(t *testing.T) {
	run := runTilt(t)
	charts := map[string]TiltCall{}
	for _, c := range run.CallsOf("helm_resource") {
		charts[c.Args["chart"].(string)] = c
	}
	dapr, ok := charts["dapr/dapr"]
	if !ok {
		t.Fatal("no helm_resource for dapr/dapr")
	}
	if !contains(toStrings(dapr.Args["flags"]), "--version="+daprVersion) || dapr.Args["namespace"] != "dapr-system" {
		t.Errorf("dapr chart: flags %v namespace %v, want --version=%s in dapr-system", dapr.Args["flags"], dapr.Args["namespace"], daprVersion)
	}
	eg, ok := charts[envoyGatewayChart]
	if !ok {
		t.Fatalf("no helm_resource for %s", envoyGatewayChart)
	}
	var pinned bool
	for _, f := range toStrings(eg.Args["flags"]) {
		if v, ok := strings.CutPrefix(f, "--version="); ok && regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(v) {
			pinned = true
		}
	}
	egNamespace, _ := eg.Args["namespace"].(string)
	if !pinned || egNamespace == "" {
		t.Errorf("Envoy Gateway chart: flags %v namespace %q, want a pinned --version=vX.Y.Z and a namespace", eg.Args["flags"], egNamespace)
	}
	repos := map[string]string{}
	for _, c := range run.CallsOf("helm_repo") {
		repos[c.Args["name"].(string)] = c.Args["url"].(string)
	}
	for chart := range charts {
		if strings.HasPrefix(chart, "oci://") {
			continue // pulled from its registry, no repository to add
		}
		repo, _, _ := strings.Cut(chart, "/")
		if repos[repo] == "" {
			t.Errorf("chart %s: no helm_repo %q", chart, repo)
		}
	}

	// The origin: a port-forward, in Envoy Gateway's namespace, to the Service
	// it labels as the dev Gateway's, local 8080 to the http listener's 80.
	dev := decodeCluster(t, "manifests/overlays/dev")
	g := dev.gateways[gatewayName]
	if g == nil {
		t.Fatalf("the dev overlay has no Gateway %s", gatewayName)
	}
	var httpPort int32
	for _, l := range g.Spec.Listeners {
		if l.Protocol == "HTTP" {
			httpPort = int32(l.Port)
		}
	}
	var origin *TiltCall
	for _, c := range run.CallsOf("local_resource") {
		if c.Args["name"] == "origin" {
			origin = &c
		}
	}
	if origin == nil {
		t.Fatal("no local_resource origin (the port-forward to the Gateway)")
	}
	cmd, _ := origin.Args["serve_cmd"].(string)
	for _, want := range []string{
		"kubectl -n " + egNamespace + " ",
		"gateway.envoyproxy.io/owning-gateway-namespace=" + g.Namespace,
		"gateway.envoyproxy.io/owning-gateway-name=" + g.Name,
		fmt.Sprintf(" port-forward \"$(kubectl -n %s get service -l ", egNamespace),
		fmt.Sprintf(" 8080:%d", httpPort),
	} {
		if !strings.Contains(cmd, want) {
			t.Errorf("origin serve_cmd %q lacks %q (the origin is http://localhost:8080, as make up serves it)", cmd, want)
		}
	}
	if strings.Count(cmd, "8080") != 1 || !strings.HasSuffix(cmd, fmt.Sprintf("8080:%d", httpPort)) {
		t.Errorf("origin serve_cmd %q: want it to end in the port-forward to 8080", cmd)
	}
}

// envoyGatewayChart is Envoy Gateway's Helm chart, an OCI artifact.
const envoyGatewayChart = "oci://docker.io/envoyproxy/gateway-helm"

const daprVersion = "1.18.3"

// Every image Tilt builds is deployed, and every image of ours the dev overlay
// deploys is built by Tilt, including the sidecar image in the annotations,
// which Tilt finds through k8s_image_json_path.
func TestTiltBuildsEveryImage(t *testing.T) {
	run := runTilt(t)
	built := map[string]TiltCall{}
	for _, fn := range []string{"docker_build", "docker_build_with_restart"} {
		for _, c := range run.CallsOf(fn) {
			built[c.Args["ref"].(string)] = c
		}
	}
	dev := decodeCluster(t, "manifests/overlays/dev")
	deployed := map[string]bool{}
	for _, tmpl := range dev.podTemplates() {
		for _, ctr := range tmpl.Spec.Containers {
			if strings.HasPrefix(ctr.Image, "ticketing/") {
				deployed[ctr.Image] = true
			}
		}
	}
	// The sidecar image: only where Tilt's JSON path points.
	paths := run.CallsOf("k8s_image_json_path")
	if len(paths) != 1 {
		t.Fatalf("%d k8s_image_json_path calls, want one for dapr.io/sidecar-image", len(paths))
	}
	jp := paths[0]
	nameRE, err := regexp.Compile("(?i)" + fmt.Sprint(jp.Args["name"]))
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range dev.deployments {
		_, annotated := d.Spec.Template.Annotations["dapr.io/sidecar-image"]
		matched := strings.EqualFold(fmt.Sprint(jp.Args["kind"]), "Deployment") && nameRE.MatchString(name)
		switch {
		case annotated && !matched:
			t.Errorf("Deployment %s has a sidecar image that Tilt's json path does not reach", name)
		case matched && !annotated:
			t.Errorf("Deployment %s matches the json path but has no such annotation (Tilt fails on a missing path)", name)
		case matched:
			o, _ := Find(dev.objs, "Deployment", name)
			v, err := jsonPathString(o.Map, fmt.Sprint(jp.Args["paths"]))
			if err != nil {
				t.Errorf("Deployment %s: %v", name, err)
				continue
			}
			deployed[v] = true
		}
	}
	for ref := range built {
		if !deployed[ref] {
			t.Errorf("Tilt builds %s, which the dev overlay does not use", ref)
		}
	}
	for img := range deployed {
		if _, ok := built[img]; !ok {
			t.Errorf("the dev overlay uses %s, which Tilt does not build", img)
		}
	}
}

// jsonPathString evaluates the one JSONPath form used here,
// {.a.b.c\.d/e}: dotted fields, with \. for a dot inside a field name.
func jsonPathString(obj map[string]any, path string) (string, error) {
	p, ok := strings.CutPrefix(path, "{.")
	if !ok || !strings.HasSuffix(p, "}") {
		return "", fmt.Errorf("json path %q is not of the form {.a.b}", path)
	}
	p = strings.TrimSuffix(p, "}")
	var fields []string
	var cur strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '\\' && i+1 < len(p) && p[i+1] == '.':
			cur.WriteByte('.')
			i++
		case p[i] == '.':
			fields = append(fields, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(p[i])
		}
	}
	fields = append(fields, cur.String())
	var v any = obj
	for _, f := range fields {
		m, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("json path %q: %q is not in an object", path, f)
		}
		if v, ok = m[f]; !ok {
			return "", fmt.Errorf("json path %q: no field %q", path, f)
		}
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("json path %q: not a string", path)
	}
	return s, nil
}

// Each app: compiled on the host into tilt/.build/<app>/app, copied into the
// dev image by the Dockerfile, synced to where the image runs it, restarted
// by the restart_process extension; and everything a build reads exists.
func TestTiltLiveUpdatesEachApp(t *testing.T) {
	root := repoRoot(t)
	run := runTilt(t)
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	compiles := map[string]TiltCall{}
	for _, c := range run.CallsOf("local_resource") {
		compiles[c.Args["name"].(string)] = c
	}
	restarts := map[string]TiltCall{}
	for _, c := range run.CallsOf("docker_build_with_restart") {
		restarts[c.Args["ref"].(string)] = c
	}
	for _, app := range rf.AppIDs() {
		t.Run(app, func(t *testing.T) {
			comp, ok := compiles[app+"-compile"]
			if !ok {
				t.Fatalf("no local_resource %s-compile", app)
			}
			cmd := fmt.Sprint(comp.Args["cmd"])
			dir := fmt.Sprint(comp.Args["dir"])
			for _, want := range []string{"CGO_ENABLED=0", "GOOS=linux", "go build"} {
				if !strings.Contains(cmd, want) {
					t.Errorf("compile command %q lacks %s", cmd, want)
				}
			}
			if dir != filepath.Join(root, "apps", app) {
				t.Errorf("compile runs in %s, want apps/%s", dir, app)
			}
			out := outputOf(cmd, dir)
			if out != filepath.Join(root, "tilt/.build", app, "app") {
				t.Errorf("compile writes %q, want tilt/.build/%s/app", out, app)
			}
			deps := toStrings(comp.Args["deps"])
			for _, d := range []string{filepath.Join(root, "apps", app), filepath.Join(root, "apps/pkg")} {
				if !contains(deps, d) {
					t.Errorf("compile deps %v lack %s", deps, rel(root, d))
				}
			}
			for _, d := range deps {
				if _, err := os.Stat(d); err != nil {
					t.Errorf("compile dep %s: %v", d, err)
				}
			}

			b, ok := restarts["ticketing/"+app]
			if !ok {
				t.Fatalf("no docker_build_with_restart for ticketing/%s", app)
			}
			if rf := fmt.Sprint(b.Args["restart_file"]); !strings.HasPrefix(rf, "/tmp/") {
				t.Errorf("restart_file %q: the image's user cannot write outside /tmp", rf)
			}
			stages := checkTiltBuild(t, root, b, map[string]bool{out: true})
			final := stages[len(stages)-1]
			if ep := toStrings(b.Args["entrypoint"]); strings.Join(ep, " ") != strings.Join(final.Entrypoint, " ") {
				t.Errorf("restart entrypoint %v, the image's %v", ep, final.Entrypoint)
			}
			var synced bool
			for _, s := range asList(b.Args["live_update"]) {
				step, ok := s.(TiltStep)
				if !ok {
					continue
				}
				if step.Kind == "sync" && step.Args["local_path"] == out && step.Args["remote_path"] == final.Entrypoint[0] {
					synced = true
				}
			}
			if !synced {
				t.Errorf("live_update %v does not sync %s to %v", b.Args["live_update"], rel(root, out), final.Entrypoint)
			}
		})
	}
	for _, c := range run.CallsOf("docker_build") {
		checkTiltBuild(t, root, c, nil)
	}
}

// checkTiltBuild plans a Tilt image build with BuildKit's parser: the target
// exists, every context file it copies is inside `only` and exists (or is
// produced by a compile step); it returns the stages.
func checkTiltBuild(t *testing.T, root string, b TiltCall, produced map[string]bool) []PlannedStage {
	t.Helper()
	ctx := fmt.Sprint(b.Args["context"])
	dfPath := fmt.Sprint(b.Args["dockerfile"])
	df, err := ParseDockerfile(dfPath)
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]string{}
	for k, v := range asMap(b.Args["build_args"]) {
		args[k] = fmt.Sprint(v)
	}
	target, _ := b.Args["target"].(string)
	stages, err := df.Plan(target, args)
	if err != nil {
		t.Fatalf("%s: %v", b.Args["ref"], err)
	}
	only := toStrings(b.Args["only"])
	for _, s := range stages {
		for _, src := range s.Sources {
			abs := filepath.Join(ctx, src)
			inOnly := len(only) == 0
			for _, o := range only {
				if abs == o || strings.HasPrefix(abs, o+"/") {
					inOnly = true
				}
			}
			if !inOnly {
				t.Errorf("%s copies %s, which only=%v leaves out of the context", b.Args["ref"], src, only)
			}
			if _, err := os.Stat(abs); err != nil && !produced[abs] {
				t.Errorf("%s copies %s: %v", b.Args["ref"], src, err)
			}
		}
	}
	for _, o := range only {
		if _, err := os.Stat(o); err != nil && !produced[o] {
			t.Errorf("%s: only path %s does not exist", b.Args["ref"], o)
		}
	}
	return stages
}

// outputOf returns the absolute -o path of a go build command run in dir.
func outputOf(cmd, dir string) string {
	f := strings.Fields(cmd)
	for i := range f {
		if f[i] == "-o" && i+1 < len(f) {
			return filepath.Join(dir, f[i+1])
		}
	}
	return ""
}

// A path written in a loaded Tiltfile (tilt/*.Tiltfile) must be absolute:
// Tilt versions resolve relative ones against different directories.
func TestTiltPathsAreUnambiguous(t *testing.T) {
	run := runTilt(t)
	pathArgs := map[string][]string{
		"docker_build":              {"context", "dockerfile", "only"},
		"docker_build_with_restart": {"context", "dockerfile", "only"},
		"local_resource":            {"deps", "dir"},
		"kustomize":                 {"pathToDir"},
		"read_yaml":                 {"paths"},
		"read_file":                 {"paths"},
		"watch_file":                {"path"},
	}
	for _, c := range run.Calls {
		for _, arg := range pathArgs[c.Fn] {
			v, ok := c.Args[arg]
			if !ok {
				continue
			}
			paths := toStrings(v)
			if s, ok := v.(string); ok {
				paths = []string{s}
			}
			for _, p := range paths {
				if c.File != "Tiltfile" && !filepath.IsAbs(p) {
					t.Errorf("%s: %s(%s=%q) is relative", c.File, c.Fn, arg, p)
				}
				abs := p
				if !filepath.IsAbs(p) {
					abs = filepath.Join(run.Root, p)
				}
				if _, err := os.Stat(abs); err != nil && !strings.Contains(abs, "/tilt/.build/") {
					t.Errorf("%s: %s(%s=%q): %v", c.File, c.Fn, arg, p, err)
				}
			}
		}
	}
	for _, c := range run.CallsOf("docker_build_with_restart") {
		for _, s := range asList(c.Args["live_update"]) {
			if step, ok := s.(TiltStep); ok && step.Kind == "sync" && !filepath.IsAbs(fmt.Sprint(step.Args["local_path"])) {
				t.Errorf("sync(%v) is relative", step.Args["local_path"])
			}
		}
	}
}

// `tilt up -- auth client` runs those apps and everything else that is not
// an app; an unknown app is refused.
func TestTiltRunsSelectedApps(t *testing.T) {
	root := repoRoot(t)
	run, err := RunTiltfile(root, []string{"auth", "client"})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := tiltModel(t, run)
	calls := run.CallsOf("config.set_enabled_resources")
	if len(calls) != 1 {
		t.Fatalf("%d config.set_enabled_resources calls, want 1", len(calls))
	}
	enabled := toStrings(calls[0].Args["resources"])
	for _, r := range enabled {
		if res[r] == nil {
			t.Errorf("enables %q, which is no resource", r)
		}
	}
	for _, want := range []string{"auth", "client", "auth-compile", "client-compile", "dapr", "envoy-gateway", "gateway", "origin", "auth-mongo", "nats-stream", "dapr-resources"} {
		if !contains(enabled, want) {
			t.Errorf("does not enable %s", want)
		}
	}
	for _, off := range []string{"orders", "orders-compile", "payments", "expiration"} {
		if contains(enabled, off) {
			t.Errorf("enables %s, which was not asked for", off)
		}
	}
	// Whatever an enabled resource depends on is enabled too.
	for _, r := range enabled {
		for _, d := range res[r].deps {
			if !contains(enabled, d) {
				t.Errorf("%s is enabled but its dependency %s is not", r, d)
			}
		}
	}
	if _, err := RunTiltfile(root, []string{"nope"}); err == nil || !strings.Contains(err.Error(), "unknown app") {
		t.Errorf("tilt up -- nope: %v, want the Tiltfile to fail on an unknown app", err)
	}
}

// A Tiltfile calling a builtin with an argument Tilt does not know fails here
// as it would under Tilt.
func TestTiltStubsRefuseUnknownArguments(t *testing.T) {
	dir := t.TempDir()
	for _, src := range []string{
		"docker_build('x', '.', dockerfiles='Dockerfile')\n",
		"local_resource('x', 'true', label=['apps'])\n",
		"load('ext://helm_resource', 'helm_resource')\nhelm_resource('x', 'y/z', version='1')\n",
		"load('ext://restart_process', 'docker_build_with_restart')\ndocker_build_with_restart('x', '.', entrypoint=['/a'], live_update=[sync('a', '/a')], targets='dev')\n",
		"k8s_resource('x', port_forward=8080)\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, "Tiltfile"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := RunTiltfile(dir, nil); err == nil || !strings.Contains(err.Error(), "unexpected keyword argument") {
			t.Errorf("%q: error %v, want unexpected keyword argument", src, err)
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func toStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, fmt.Sprint(x))
	}
	sort.Strings(out)
	return out
}

func nested(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func stringMap(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// include() and load() run the files they name, relative to the Tiltfile.
func TestTiltStubsRunIncludedFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"Tiltfile":       "include('./sub/x.Tiltfile')\nload('./sub/y.Tiltfile', 'f')\nf()\n",
		"sub/x.Tiltfile": "local_resource('from-include', 'true', labels=['infra'])\n",
		"sub/y.Tiltfile": "def f():\n    local_resource('from-load', 'true', labels=['infra'])\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run, err := RunTiltfile(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range run.CallsOf("local_resource") {
		names = append(names, c.File+":"+c.Args["name"].(string))
	}
	if strings.Join(names, " ") != "sub/x.Tiltfile:from-include sub/y.Tiltfile:from-load" {
		t.Errorf("local resources %v", names)
	}
}
