package k8scheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// cloudBuild is the part of Cloud Build's build config schema
// (cloud.google.com/build/docs/build-config-file-schema) the pipeline uses;
// decoded strictly, so a misspelt field fails.
type cloudBuild struct {
	Substitutions map[string]string `json:"substitutions"`
	Options       struct {
		DynamicSubstitutions bool     `json:"dynamicSubstitutions"`
		MachineType          string   `json:"machineType"`
		DiskSizeGb           int      `json:"diskSizeGb"`
		Logging              string   `json:"logging"`
		Env                  []string `json:"env"`
	} `json:"options"`
	Timeout string `json:"timeout"`
	Steps   []struct {
		ID         string   `json:"id"`
		Name       string   `json:"name"`
		Entrypoint string   `json:"entrypoint"`
		Args       []string `json:"args"`
		Env        []string `json:"env"`
		Dir        string   `json:"dir"`
		WaitFor    []string `json:"waitFor"`
	} `json:"steps"`
}

func loadCloudBuild(t *testing.T, root string) cloudBuild {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".ci/cloudbuild.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cb cloudBuild
	if err := yaml.UnmarshalStrict(b, &cb); err != nil {
		t.Fatalf(".ci/cloudbuild.yaml: %v", err)
	}
	return cb
}

// dockerBuild is one `docker build` a step runs.
type dockerBuild struct {
	step, dockerfile, target, context string
	args                              map[string]string
	tags                              []string
}

// dockerBuilds finds the docker builds of a step: its args when it runs the
// docker builder directly, or the `docker build` lines of its bash script.
func dockerBuilds(step string, entrypoint string, args []string) []dockerBuild {
	var cmds [][]string
	if entrypoint == "" {
		cmds = append(cmds, append([]string{"docker"}, args...))
	} else if len(args) == 2 && args[0] == "-c" {
		script := strings.ReplaceAll(args[1], "\\\n", " ")
		for _, line := range strings.Split(script, "\n") {
			f := strings.Fields(line)
			if len(f) > 2 && f[0] == "docker" && f[1] == "build" {
				cmds = append(cmds, f)
			}
		}
	}
	var out []dockerBuild
	for _, f := range cmds {
		if len(f) < 2 || f[1] != "build" {
			continue
		}
		b := dockerBuild{step: step, args: map[string]string{}, dockerfile: "Dockerfile"}
		for i := 2; i < len(f); i++ {
			arg := strings.Trim(f[i], `"`)
			next := func() string { i++; return strings.Trim(f[i], `"`) }
			switch arg {
			case "-f", "--file":
				b.dockerfile = next()
			case "--target":
				b.target = next()
			case "-t", "--tag":
				b.tags = append(b.tags, next())
			case "--build-arg":
				k, v, _ := strings.Cut(next(), "=")
				b.args[k] = v
			default:
				b.context = arg
			}
		}
		out = append(out, b)
	}
	return out
}

// The pipeline: tests with the README's command, builds every app image from
// its Dockerfile on the shared base, tagged by commit, builds the sidecar, and
// on main renders and rolls out the gke overlay behind a rollout gate.
func TestCloudBuildPipeline(t *testing.T) {
	root := repoRoot(t)
	cb := loadCloudBuild(t, root)
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for i, s := range cb.Steps {
		if s.ID == "" {
			t.Errorf("step %d has no id", i)
		}
		if _, dup := ids[s.ID]; dup {
			t.Errorf("two steps %q", s.ID)
		}
		ids[s.ID] = i
		for _, w := range s.WaitFor {
			if _, ok := ids[w]; !ok && w != "-" {
				t.Errorf("step %s waits for %q, no earlier step", s.ID, w)
			}
		}
	}
	step := func(id string) string {
		i, ok := ids[id]
		if !ok {
			t.Fatalf("no step %q", id)
		}
		return strings.Join(cb.Steps[i].Args, " ")
	}

	// Tests: .ci/run, which runs make test.
	if !strings.Contains(step("test"), ".ci/run") {
		t.Errorf("step test runs %q, want .ci/run", step("test"))
	}
	if ci, err := os.ReadFile(filepath.Join(root, ".ci/run")); err != nil || !strings.Contains(string(ci), "make test") {
		t.Errorf(".ci/run does not run make test")
	}

	// Images: every docker build plans with BuildKit's parser, copies only
	// files that exist, and an app's build reads only its own folder.
	builds := map[string]dockerBuild{}
	for _, s := range cb.Steps {
		for _, b := range dockerBuilds(s.ID, s.Entrypoint, s.Args) {
			if b.context != "." {
				t.Errorf("step %s: context %q, want the repository root", s.ID, b.context)
			}
			df, err := ParseDockerfile(filepath.Join(root, b.dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			stages, err := df.Plan(b.target, b.args)
			if err != nil {
				t.Errorf("step %s: %v", s.ID, err)
				continue
			}
			for _, st := range stages {
				for _, src := range st.Sources {
					if _, err := os.Stat(filepath.Join(root, src)); err != nil {
						t.Errorf("step %s: %s copies %s: %v", s.ID, b.dockerfile, src, err)
					}
				}
			}
			builds[b.dockerfile+"#"+b.target] = b
		}
	}
	base, ok := builds["apps/Dockerfile.base#base"]
	if !ok || base.step != "base" {
		t.Fatal("no step base building apps/Dockerfile.base --target base")
	}
	for _, app := range rf.AppIDs() {
		b, ok := builds["apps/"+app+"/Dockerfile#"]
		if !ok {
			t.Errorf("%s: no docker build of apps/%s/Dockerfile", app, app)
			continue
		}
		if b.args["BASE"] != base.tags[0] {
			t.Errorf("%s builds on BASE=%q, the base step tags %q", app, b.args["BASE"], base.tags[0])
		}
		want := "${_REGISTRY}/" + app + ":$SHORT_SHA"
		if len(b.tags) != 1 || b.tags[0] != want {
			t.Errorf("%s: tags %v, want %s", app, b.tags, want)
		}
		if !strings.Contains(step(b.step), "docker push "+want) {
			t.Errorf("%s: step %s does not push %s", app, b.step, want)
		}
		if !contains(cb.Steps[ids[b.step]].WaitFor, "base") {
			t.Errorf("%s: step %s does not wait for the base", app, b.step)
		}
	}
	daprd, ok := builds["apps/Dockerfile.base#daprd"]
	if !ok {
		t.Fatal("no build of the daprd target")
	}
	if daprd.args["DAPR_VERSION"] != "${_DAPR_VERSION}" || cb.Substitutions["_DAPR_VERSION"] != daprVersion {
		t.Errorf("daprd built as %q (_DAPR_VERSION %q), want %s", daprd.args["DAPR_VERSION"], cb.Substitutions["_DAPR_VERSION"], daprVersion)
	}

	// Deploy: after the tests and every image; main only; the namespace, the
	// Dapr resources, then the rest; a rollout gate on everything, then the
	// Gateway programmed.
	render := cb.Steps[ids["render"]]
	for _, s := range cb.Steps {
		if strings.HasPrefix(s.ID, "image-") || s.ID == "test" {
			if !contains(render.WaitFor, s.ID) {
				t.Errorf("render does not wait for %s", s.ID)
			}
		}
	}
	deploy := step("deploy")
	for _, id := range []string{"render", "deploy"} {
		if !strings.Contains(step(id), `if [ "$BRANCH_NAME" != "main" ]`) {
			t.Errorf("step %s runs on every branch; deploy only main", id)
		}
	}
	if !strings.Contains(step("render"), "go run ./tools/k8scheck/cmd/render") || !strings.Contains(step("render"), "manifests/overlays/gke") {
		t.Error("render does not render the gke overlay with cmd/render")
	}
	gke := decodeCluster(t, "manifests/overlays/gke")
	if ns := gke.objs[0]; ns.Kind != "Namespace" || ns.Name != cb.Substitutions["_NAMESPACE"] {
		t.Errorf("_NAMESPACE %q, the overlay's namespace %s/%s", cb.Substitutions["_NAMESPACE"], ns.Kind, ns.Name)
	}
	order := []string{
		"kubectl apply -f manifests/overlays/gke/namespace.yaml",
		"-l app.kubernetes.io/component=dapr-resources",
		"delete job nats-stream",
		"kubectl apply -f /workspace/rendered.yaml\n",
		"rollout status statefulset",
		"wait --for=condition=complete job/nats-stream",
		"rollout status deployment",
		"wait --for=condition=Programmed gateway/" + gatewayName + " ",
	}
	last := -1
	for _, o := range order {
		i := strings.Index(deploy, o)
		if i < 0 || i < last {
			t.Errorf("deploy: %q missing or out of order", o)
		}
		last = i
	}
	checkLoop(t, deploy, "for app in ", rf.AppIDs())
	checkLoop(t, deploy, "for sts in ", keys(gke.statefulSets))
	if len(gke.gateways) != 1 || gke.gateways[gatewayName] == nil {
		t.Errorf("the gke overlay's Gateways %v; the deploy waits for %s", keys(gke.gateways), gatewayName)
	}
	for _, s := range cb.Steps {
		checkSubstitutions(t, s.ID, strings.Join(s.Args, " "), cb.Substitutions)
	}
	for k, v := range cb.Substitutions {
		checkSubstitutions(t, "substitution "+k, v, cb.Substitutions)
		if strings.Contains(v, "$") && !cb.Options.DynamicSubstitutions {
			t.Errorf("substitution %s refers to others; needs options.dynamicSubstitutions", k)
		}
	}
}

// checkLoop: the deploy loop `for x in a b c; do` names exactly want.
func checkLoop(t *testing.T, script, prefix string, want []string) {
	t.Helper()
	i := strings.Index(script, prefix)
	if i < 0 {
		t.Errorf("deploy has no loop %q", prefix)
		return
	}
	list, _, _ := strings.Cut(script[i+len(prefix):], ";")
	got := strings.Fields(list)
	if len(got) != len(want) {
		t.Errorf("deploy %s%v, want %v", prefix, got, want)
		return
	}
	for _, w := range want {
		if !contains(got, w) {
			t.Errorf("deploy %s%v lacks %s", prefix, got, w)
		}
	}
}

var builtinSubstitutions = []string{"PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION", "TRIGGER_NAME", "COMMIT_SHA",
	"REVISION_ID", "SHORT_SHA", "REPO_NAME", "REPO_FULL_NAME", "BRANCH_NAME", "TAG_NAME", "REF_NAME", "TRIGGER_BUILD_CONFIG_PATH", "SERVICE_ACCOUNT_EMAIL", "SERVICE_ACCOUNT"}

var substitutionRef = regexp.MustCompile(`\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// checkSubstitutions: every $NAME / ${NAME} Cloud Build will substitute is
// defined (a shell variable must be written $$NAME).
func checkSubstitutions(t *testing.T, step, text string, defined map[string]string) {
	t.Helper()
	for _, m := range substitutionRef.FindAllStringSubmatch(text, -1) {
		name := m[2] + m[3]
		if m[1] == "$" || name == "" {
			continue
		}
		if _, ok := defined[name]; !ok && !contains(builtinSubstitutions, name) {
			t.Errorf("step %s: $%s is no substitution (a shell variable is written $$%s)", step, name, name)
		}
	}
}
