package k8scheck

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/conf"
	"github.com/nats-io/nats.go"
	corev1 "k8s.io/api/core/v1"
)

// The secrets the apps read (their *_SECRET_NAME settings): the sidecar of
// each app may get exactly those; the dev overlay has fake ones; GKE carries
// none in the repository, and the GKE guide says how to create each.
func TestSecretsAreReadableAndNeverCommitted(t *testing.T) {
	root := repoRoot(t)
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	guide, err := os.ReadFile(filepath.Join(root, "docs/deploy-gke.md"))
	if err != nil {
		t.Fatal(err)
	}
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		all := map[string]bool{}
		for _, app := range rf.AppIDs() {
			for env, secret := range appSettings(t, root, app) {
				if !strings.HasSuffix(env, "_SECRET_NAME") {
					continue
				}
				all[secret] = true
				if !c.canGetSecret(app, secret) {
					t.Errorf("%s reads secret %s (%s), but its service account may not get it", app, secret, env)
				}
			}
		}
		for _, app := range rf.AppIDs() {
			for _, role := range c.rolesOf(app) {
				for _, rule := range role.Rules {
					if contains(rule.Resources, "secrets") && len(rule.ResourceNames) == 0 {
						t.Errorf("%s may read every secret (Role %s)", app, role.Name)
					}
				}
			}
		}
		switch c.overlay {
		case "manifests/overlays/dev":
			for s := range all {
				sec, ok := c.secrets[s]
				if !ok || len(sec.Data) != 1 || len(sec.Data[s]) == 0 {
					t.Errorf("dev: want Secret %s with one key %s", s, s)
				}
				if ok && !bytes.Contains(bytes.ToLower(sec.Data[s]), []byte("not")) {
					t.Errorf("dev: Secret %s does not say it is fake", s)
				}
			}
		case "manifests/overlays/gke":
			if len(c.secrets) != 0 {
				t.Errorf("gke: the overlay carries Secrets %v; they are created in the cluster, never committed", keys(c.secrets))
			}
			for s := range all {
				if !bytes.Contains(guide, []byte("kubectl -n ticketing create secret generic "+s)) {
					t.Errorf("docs/deploy-gke.md does not say how to create secret %s", s)
				}
			}
		}
	})
}

func (c *cluster) rolesOf(app string) []*rbacRole {
	var out []*rbacRole
	for _, rb := range c.roleBindings {
		for _, s := range rb.Subjects {
			if s.Kind == "ServiceAccount" && s.Name == app {
				if r, ok := c.roles[rb.RoleRef.Name]; ok && rb.RoleRef.Kind == "Role" {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

func (c *cluster) canGetSecret(app, secret string) bool {
	for _, role := range c.rolesOf(app) {
		for _, rule := range role.Rules {
			if contains(rule.APIGroups, "") && contains(rule.Resources, "secrets") && contains(rule.Verbs, "get") &&
				(len(rule.ResourceNames) == 0 || contains(rule.ResourceNames, secret)) {
				return true
			}
		}
	}
	return false
}

// NATS: the config parses with nats-server's own parser and syncs every
// write; the Job provisions the stream the local runner provisions, for the
// topics of the event contract, from a config the NATS client's types accept
// strictly.
func TestNATSAndTheStream(t *testing.T) {
	root := repoRoot(t)
	t.Setenv("POD_NAME", "nats-0")
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		ss, ok := c.statefulSets["nats"]
		if !ok {
			t.Fatal("no StatefulSet nats")
		}
		cm := c.configMapMountedAt(t, &ss.Spec.Template.Spec, "/etc/nats")
		cfg, err := conf.Parse(cm.Data["nats.conf"])
		if err != nil {
			t.Fatalf("nats.conf: %v", err)
		}
		js, _ := cfg["jetstream"].(map[string]any)
		if js["sync_interval"] != "always" {
			t.Errorf("nats.conf: jetstream.sync_interval %v, want always (no acknowledged event lost to a crash)", js["sync_interval"])
		}
		var dataMount string
		for _, m := range ss.Spec.Template.Spec.Containers[0].VolumeMounts {
			if len(ss.Spec.VolumeClaimTemplates) == 1 && m.Name == ss.Spec.VolumeClaimTemplates[0].Name {
				dataMount = m.MountPath
			}
		}
		if dataMount == "" || js["store_dir"] != dataMount {
			t.Errorf("nats.conf: store_dir %v, the volume is mounted at %q", js["store_dir"], dataMount)
		}
		if !strings.HasSuffix(cfg["listen"].(string), ":4222") {
			t.Errorf("nats.conf: listen %v", cfg["listen"])
		}

		job, ok := c.jobs["nats-stream"]
		if !ok {
			t.Fatal("no Job nats-stream")
		}
		pod := &job.Spec.Template.Spec
		ctr := pod.Containers[0]
		jcm := c.configMapMountedAt(t, pod, "/stream")
		script := jcm.Data["provision-stream.sh"]
		if !strings.Contains(strings.Join(ctr.Command, " "), "/stream/provision-stream.sh") || script == "" {
			t.Fatalf("the Job does not run /stream/provision-stream.sh (command %v)", ctr.Command)
		}
		for _, want := range []string{"nats stream add --config", "nats stream edit TICKETING --config", "/stream/stream-ticketing.json"} {
			if !strings.Contains(script, want) {
				t.Errorf("provision-stream.sh lacks %q", want)
			}
		}
		var natsURL string
		for _, e := range ctr.Env {
			if e.Name == "NATS_URL" {
				natsURL = e.Value
			}
		}
		for name, comp := range c.components {
			if url, ok := metadataValue(comp, "natsURL"); ok && url != natsURL {
				t.Errorf("component %s uses %s, the Job provisions %s", name, url, natsURL)
			}
		}

		dec := json.NewDecoder(strings.NewReader(jcm.Data["stream-ticketing.json"]))
		dec.DisallowUnknownFields()
		var sc nats.StreamConfig
		if err := dec.Decode(&sc); err != nil {
			t.Fatalf("stream-ticketing.json: %v", err)
		}
		want := nats.StreamConfig{
			Name: "TICKETING", Subjects: eventTopics(t, root), Storage: nats.FileStorage, Retention: nats.LimitsPolicy,
			MaxAge: 7 * 24 * time.Hour, Duplicates: 2 * time.Minute, Replicas: 1,
			Discard: nats.DiscardOld, MaxConsumers: -1, MaxMsgs: -1, MaxBytes: -1, MaxMsgsPerSubject: -1, MaxMsgSize: -1,
		}
		got := sc
		got.Description = ""
		if !reflect.DeepEqual(got, want) {
			t.Errorf("stream config\n got %+v\nwant %+v", got, want)
		}
		if mesh := meshTopics(t, root); !reflect.DeepEqual(sc.Subjects, mesh) {
			t.Errorf("stream subjects %v, the local runner's %v", sc.Subjects, mesh)
		}
	})
}

func (c *cluster) configMapMountedAt(t *testing.T, pod *corev1.PodSpec, path string) *corev1.ConfigMap {
	t.Helper()
	for _, m := range pod.Containers[0].VolumeMounts {
		if m.MountPath != path {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				cm, ok := c.configMaps[v.ConfigMap.Name]
				if !ok {
					t.Fatalf("ConfigMap %s is not rendered", v.ConfigMap.Name)
				}
				return cm
			}
		}
	}
	t.Fatalf("no ConfigMap mounted at %s", path)
	return nil
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
