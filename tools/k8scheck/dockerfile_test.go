package k8scheck

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func dockerfiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "apps/*/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return append(files, filepath.Join(root, "apps/Dockerfile.base"))
}

// Every Dockerfile parses with BuildKit's parser and passes its linter (the
// checks of `docker build --check`).
func TestDockerfilesParseAndLint(t *testing.T) {
	root := repoRoot(t)
	for _, f := range dockerfiles(t, root) {
		df, err := ParseDockerfile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, w := range df.Warnings {
			t.Errorf("%s", w)
		}
	}
}

// One Dockerfile per app of dapr.yaml, and no Dockerfile for anything else.
func TestEveryAppHasADockerfile(t *testing.T) {
	root := repoRoot(t)
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, app := range rf.Apps {
		if _, err := os.Stat(filepath.Join(root, app.AppDirPath, "Dockerfile")); err != nil {
			t.Errorf("%s: %v", app.AppID, err)
		}
	}
	for _, f := range dockerfiles(t, root) {
		dir := filepath.Base(filepath.Dir(f))
		if filepath.Base(f) == "Dockerfile" && !contains(rf.AppIDs(), dir) {
			t.Errorf("%s is no app of dapr.yaml", rel(root, f))
		}
	}
}

// An app image: built on the shared base from the app's own folder only (so a
// change elsewhere does not rebuild it), a static binary (the base sets
// CGO_ENABLED=0) on distroless, run as a non-root user, exec-form entrypoint.
func TestAppImagesAreStaticNonRootAndSmall(t *testing.T) {
	root := repoRoot(t)
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	baseDF, err := ParseDockerfile(filepath.Join(root, "apps/Dockerfile.base"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := baseDF.Plan("base", nil)
	if err != nil {
		t.Fatal(err)
	}
	b := base[len(base)-1]
	for k, v := range map[string]string{"CGO_ENABLED": "0", "GOWORK": "off"} {
		if b.Env[k] != v {
			t.Errorf("base: ENV %s=%q, want %q", k, b.Env[k], v)
		}
	}
	onlyUnder(t, "base", base, "apps/pkg/")

	for _, app := range rf.Apps {
		t.Run(app.AppID, func(t *testing.T) {
			df, err := ParseDockerfile(filepath.Join(root, app.AppDirPath, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			stages, err := df.Plan("", nil)
			if err != nil {
				t.Fatal(err)
			}
			if stages[0].From != "ticketing/base" {
				t.Errorf("builds FROM %q, want the shared base ticketing/base (ARG BASE)", stages[0].From)
			}
			onlyUnder(t, app.AppID, stages, "apps/"+app.AppID+"/")
			checkRuntimeStage(t, stages[len(stages)-1])
		})
	}
	for _, target := range []string{"daprd", "dev"} {
		stages, err := baseDF.Plan(target, map[string]string{"APP": "auth"})
		if err != nil {
			t.Fatal(err)
		}
		final := stages[len(stages)-1]
		uid, err := strconv.Atoi(strings.Split(final.User, ":")[0])
		if err != nil || uid == 0 {
			t.Errorf("%s: USER %q, want a numeric non-root user (runAsNonRoot checks it)", target, final.User)
		}
		switch target {
		case "daprd":
			checkRuntimeStage(t, final)
			onlyUnder(t, "daprd", stages, "tools/runtime/")
			if strings.Join(final.Entrypoint, " ") != "/daprd" {
				t.Errorf("daprd: entrypoint %v; Dapr's injector runs /daprd", final.Entrypoint)
			}
		case "dev":
			if !strings.HasPrefix(final.From, "alpine:") {
				t.Errorf("dev: FROM %s, want a small image with a shell (live update needs sh and tar)", final.From)
			}
			onlyUnder(t, "dev", stages, "tilt/.build/auth/")
		}
	}
}

func checkRuntimeStage(t *testing.T, s PlannedStage) {
	t.Helper()
	if name, tag := splitImage(s.From); name != "gcr.io/distroless/static-debian12" || tag != "nonroot" {
		t.Errorf("runs on %s, want gcr.io/distroless/static-debian12:nonroot (no shell, no libc)", s.From)
	}
	if uid, err := strconv.Atoi(strings.Split(s.User, ":")[0]); err != nil || uid == 0 {
		t.Errorf("USER %q, want a numeric non-root user", s.User)
	}
	if len(s.Entrypoint) == 0 || strings.HasPrefix(s.Entrypoint[0], "/bin/sh") {
		t.Errorf("ENTRYPOINT %v, want the exec form (there is no shell)", s.Entrypoint)
	}
	if len(s.Sources) != 0 {
		t.Errorf("the runtime stage copies %v from the context; want only the built binary", s.Sources)
	}
}

func onlyUnder(t *testing.T, what string, stages []PlannedStage, prefix string) {
	t.Helper()
	for _, s := range stages {
		for _, src := range s.Sources {
			if !strings.HasPrefix(src, prefix) {
				t.Errorf("%s copies %s, outside %s", what, src, prefix)
			}
		}
	}
}

// BuildKit's parser refuses what `docker build` refuses, and Plan catches an
// undefined variable and an unknown stage.
func TestBrokenDockerfilesFail(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := ParseDockerfile(write("flag", "FROM alpine:3.22\nCOPY --chwon=1:1 a /a\n")); err == nil {
		t.Error("COPY --chwon parsed")
	}
	if _, err := ParseDockerfile(write("instr", "FROM alpine:3.22\nCOPPY a /a\n")); err == nil {
		t.Error("COPPY parsed")
	}
	df, err := ParseDockerfile(write("undef", "FROM alpine:3.22\nCOPY ${MISSING}/a /a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := df.Plan("", nil); err == nil || !strings.Contains(err.Error(), "undefined MISSING") {
		t.Errorf("undefined variable: %v", err)
	}
	if _, err := df.Plan("nope", nil); err == nil {
		t.Error("an unknown target planned")
	}
	df, err = ParseDockerfile(write("lint", "from alpine:3.22 as Build\nRUN true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(df.Warnings) == 0 {
		t.Error("BuildKit's linter found nothing wrong with a lower-case FROM and a mixed-case stage name")
	}
}
