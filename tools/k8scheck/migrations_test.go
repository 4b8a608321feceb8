package k8scheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	componentsv1alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/components/v1alpha1"
)

// migrationsPending names the services that own a state store but have no
// migrations yet, and why. An entry goes once the service has them (the test
// below says so).
var migrationsPending = map[string]string{}

// Each service's migrations (apps/<svc>/migrations, see apps/pkg/migrate) run
// before its app, in every overlay: its Deployment has exactly one init
// container `migrate`, of the app's own image, running the image's entrypoint
// (the app's binary) with args [migrate], and MIGRATE_URL from the very
// Secret and key its state store component reads. A service without
// migrations has no such container; a service with a store has migrations.
// Locally the same migrations index the table `state` of the service's
// state.postgresql store; the GKE guide creates every store's Secret.
func TestMigrationsRunBeforeEveryApp(t *testing.T) {
	root := repoRoot(t)
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{}
	for _, a := range rf.Apps {
		fi, err := os.Stat(filepath.Join(root, a.AppDirPath, "migrations"))
		has[a.AppID] = err == nil && fi.IsDir()
		if has[a.AppID] {
			checkLocalStoreTable(t, root, a.AppID)
		}
	}
	for svc, why := range migrationsPending {
		if has[svc] {
			t.Errorf("%s has migrations now: take it out of migrationsPending (%s)", svc, why)
		}
	}
	guide := mustRead(t, filepath.Join(root, "docs/deploy-gke.md"))
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		for _, p := range c.migrationProblems(rf, has) {
			t.Error(p)
		}
		if c.overlay == "manifests/overlays/gke" {
			checkGuideCreatesMongoSecrets(t, guide, c.stateStores())
		}
	})
}

// A doctored migrate init container fails the check: each case changes one
// thing in the rendered gke overlay and names the problem it must cause.
func TestDoctoredMigrationsFail(t *testing.T) {
	root := repoRoot(t)
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{"auth": true, "tickets": true, "orders": true, "payments": true, "expiration": true}
	objs := render(t, "manifests/overlays/gke")
	cases := []struct{ name, from, to, want string }{
		{"another service's database", "key: mongo-orders\n              name: mongo-orders", "key: mongo-orders\n              name: mongo-tickets", "the migrations would index another database"},
		{"another image", "image: ticketing/orders\n        imagePullPolicy: IfNotPresent\n        name: migrate", "image: ticketing/tickets\n        imagePullPolicy: IfNotPresent\n        name: migrate", "want the app's own"},
		{"not the migrate mode", "- args:\n        - migrate", "- args:\n        - serve", "want [migrate]"},
		{"a command of its own", "- args:\n        - migrate", "- command:\n        - /bin/migrate\n        args:\n        - migrate", "replaces the image's entrypoint"},
		{"a literal URL", "valueFrom:\n            secretKeyRef:\n              key: mongo-orders\n              name: mongo-orders", "value: mongodb://orders-mongo-0.orders-mongo:27017", "not read from a Secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := decodeObjects(t, "doctored gke", doctor(t, objs, "Deployment", "orders", tc.from, tc.to))
			problems := strings.Join(c.migrationProblems(rf, has), "\n")
			if !strings.Contains(problems, tc.want) {
				t.Errorf("with %q changed to %q, problems:\n%s\nwant one saying %q", tc.from, tc.to, problems, tc.want)
			}
		})
	}
	t.Run("migrations without their init container", func(t *testing.T) {
		c := decodeObjects(t, "gke", objs)
		with := map[string]bool{"client": true}
		for k, v := range has {
			with[k] = v
		}
		problems := strings.Join(c.migrationProblems(rf, with), "\n")
		if !strings.Contains(problems, "client has migrations but no state store") {
			t.Errorf("problems:\n%s", problems)
		}
	})
	t.Run("unchanged", func(t *testing.T) {
		c := decodeObjects(t, "gke", objs)
		if p := c.migrationProblems(rf, has); len(p) > 0 {
			t.Errorf("the undoctored overlay has problems: %v", p)
		}
	})
}

// stateStores are the cluster's state store components, by service.
func (c *cluster) stateStores() map[string]*componentsv1alpha1.Component {
	stores := map[string]*componentsv1alpha1.Component{}
	for _, comp := range c.components {
		if strings.HasPrefix(comp.Spec.Type, "state.") && len(comp.Scopes) == 1 {
			stores[comp.Scopes[0]] = comp
		}
	}
	return stores
}

// migrationProblems checks each app's migrate init container against whether
// it has migrations (has, by app id).
func (c *cluster) migrationProblems(rf RunFile, has map[string]bool) []string {
	var out []string
	stores := c.stateStores()
	for _, a := range rf.Apps {
		d, ok := c.deployments[a.AppID]
		if !ok {
			continue // TestEveryAppDeploysAsDaprYAMLSays says so
		}
		var migrates []corev1.Container
		for _, ic := range d.Spec.Template.Spec.InitContainers {
			if ic.Name == "migrate" || contains(ic.Args, "migrate") || contains(ic.Command, "migrate") {
				migrates = append(migrates, ic)
			}
		}
		store, owns := stores[a.AppID]
		switch {
		case !has[a.AppID]:
			if owns && migrationsPending[a.AppID] == "" {
				out = append(out, fmt.Sprintf("%s owns %s but has no migrations (apps/%s/migrations)", a.AppID, store.Name, a.AppID))
			}
			if len(migrates) != 0 {
				out = append(out, fmt.Sprintf("%s has no migrations, yet its Deployment runs %d migrate init containers", a.AppID, len(migrates)))
			}
			continue
		case !owns:
			out = append(out, fmt.Sprintf("%s has migrations but no state store to run them on", a.AppID))
			continue
		case len(migrates) != 1:
			out = append(out, fmt.Sprintf("%s: %d migrate init containers, want one", a.AppID, len(migrates)))
			continue
		}
		out = append(out, migrateContainerProblems(a.AppID, migrates[0], d.Spec.Template.Spec.Containers[0], store)...)
	}
	return out
}

func migrateContainerProblems(app string, ic, main corev1.Container, store *componentsv1alpha1.Component) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(app+": "+format, args...)) }
	if ic.Name != "migrate" {
		bad("the init container that migrates is named %q, want migrate", ic.Name)
	}
	if imageName(ic.Image) != "ticketing/"+app || ic.Image != main.Image {
		bad("migrate runs image %q, want the app's own (%s): the binary that knows the migrations", ic.Image, main.Image)
	}
	if len(ic.Command) != 0 {
		bad("migrate's command %v replaces the image's entrypoint, the app's binary", ic.Command)
	}
	if !reflect.DeepEqual(ic.Args, []string{"migrate"}) {
		bad("migrate's args %v, want [migrate]", ic.Args)
	}
	ref, ok := mongoSecretRef(store)
	if !ok {
		bad("%s reads its connection string from no Secret", store.Name)
		return out
	}
	var url *corev1.EnvVar
	for i, e := range ic.Env {
		if e.Name == "MIGRATE_URL" {
			url = &ic.Env[i]
		}
	}
	switch {
	case url == nil:
		bad("migrate has no MIGRATE_URL")
	case url.Value != "" || url.ValueFrom == nil || url.ValueFrom.SecretKeyRef == nil:
		bad("MIGRATE_URL is not read from a Secret")
	case url.ValueFrom.SecretKeyRef.Name != ref.Name || url.ValueFrom.SecretKeyRef.Key != ref.Key:
		bad("MIGRATE_URL from Secret %s key %s, but %s reads Secret %s key %s: the migrations would index another database",
			url.ValueFrom.SecretKeyRef.Name, url.ValueFrom.SecretKeyRef.Key, store.Name, ref.Name, ref.Key)
	case url.ValueFrom.SecretKeyRef.Optional != nil && *url.ValueFrom.SecretKeyRef.Optional:
		bad("MIGRATE_URL's Secret is optional: without it the pod must not start")
	}
	return out
}

// checkLocalStoreTable: the local store of a service with migrations is
// Dapr's state.postgresql v1, whose table the migrations index: `state`.
func checkLocalStoreTable(t *testing.T, root, svc string) {
	t.Helper()
	path := filepath.Join(root, "components/local", svc+"-store.yaml")
	objs, err := DecodeAll(mustRead(t, path))
	if err != nil || len(objs) != 1 {
		t.Errorf("%s: %v", rel(root, path), err)
		return
	}
	comp := objs[0].(*componentsv1alpha1.Component)
	table, _ := metadataValue(comp, "tableName")
	if comp.Spec.Type != "state.postgresql" || comp.Spec.Version != "v1" || table != "state" {
		t.Errorf("%s: %s %s with table %q; the migrations index state.postgresql v1's table `state`", rel(root, path), comp.Spec.Type, comp.Spec.Version, table)
	}
}

// checkGuideCreatesMongoSecrets: the GKE overlay carries no Secret, so the
// guide creates each one a store component reads.
func checkGuideCreatesMongoSecrets(t *testing.T, guide []byte, stores map[string]*componentsv1alpha1.Component) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^for svc in ([a-z ]+); do\n\s*kubectl -n ticketing create secret generic mongo-\$svc \\\n\s*--from-literal=mongo-\$svc=`).FindSubmatch(guide)
	if m == nil {
		t.Error("docs/deploy-gke.md does not create the Secrets mongo-<svc> (for svc in ...; do kubectl -n ticketing create secret generic mongo-$svc ...)")
		return
	}
	listed := strings.Fields(string(m[1]))
	for svc, comp := range stores {
		if ref, _ := mongoSecretRef(comp); ref.Name == "mongo-"+svc && !contains(listed, svc) {
			t.Errorf("docs/deploy-gke.md creates mongo-<svc> for %v, not for %s", listed, svc)
		}
	}
	if !bytes.Contains(guide, []byte("?replicaSet=rs0")) {
		t.Error("docs/deploy-gke.md: the MongoDB URLs lack ?replicaSet=rs0")
	}
}
