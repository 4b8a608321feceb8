package k8scheck

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	componentsv1alpha1 "github.com/tixmesh/ticketing/tools/k8scheck/internal/daprapi/components/v1alpha1"
)

// Scopes name real app ids; every state store belongs to exactly one service
// and is the one that service asks for; the secret store and the pub/sub are
// scoped to every app that uses them.
func TestComponentScopes(t *testing.T) {
	root := repoRoot(t)
	rf, err := LoadRunFile(root)
	if err != nil {
		t.Fatal(err)
	}
	ids := rf.AppIDs()
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		for name, comp := range c.components {
			if len(comp.Scopes) == 0 {
				t.Errorf("component %s is unscoped: every sidecar would load it", name)
			}
			for _, s := range comp.Scopes {
				if !contains(ids, s) {
					t.Errorf("component %s: scope %q is no app id of dapr.yaml", name, s)
				}
			}
			if strings.HasPrefix(comp.Spec.Type, "state.") && len(comp.Scopes) != 1 {
				t.Errorf("state store %s is scoped to %v, want exactly one service", name, comp.Scopes)
			}
		}
		for _, app := range ids {
			settings := appSettings(t, root, app)
			for env, kind := range map[string]string{"STATE_STORE": "state.", "PUBSUB": "pubsub.", "SECRET_STORE": "secretstores."} {
				want, ok := settings[env]
				if !ok {
					continue
				}
				comp, ok := c.components[want]
				switch {
				case !ok:
					t.Errorf("%s uses %s=%s; no such component", app, env, want)
				case !strings.HasPrefix(comp.Spec.Type, kind):
					t.Errorf("%s uses %s=%s, a %s", app, env, want, comp.Spec.Type)
				case !contains(comp.Scopes, app):
					t.Errorf("%s uses %s=%s, which is not scoped to it (%v)", app, env, want, comp.Scopes)
				}
			}
		}
	})
}

// Each service's store: its own MongoDB replica set, reached through the
// connection string in the Secret mongo-<svc> (which the service's migrations
// read too) with the replicaSet parameter Dapr needs for transactions;
// majority concerns; the database named after the service and the collection
// `state` (what the migrations index); the actor store is expiration's alone.
func TestStateStoresAreOwnMongoReplicaSets(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		secrets := map[string]string{}
		var actorStores []string
		for name, comp := range c.components {
			if !strings.HasPrefix(comp.Spec.Type, "state.") {
				continue
			}
			svc := comp.Scopes[0]
			if comp.Spec.Type != "state.mongodb" || name != svc+"-store" {
				t.Errorf("%s: a %s named %s, want state.mongodb %s-store", name, comp.Spec.Type, name, svc)
			}
			want := map[string]string{
				"databaseName":   svc,
				"collectionName": "state",
				"writeConcern":   "majority",
				"readConcern":    "majority",
			}
			for k, v := range want {
				if got, _ := metadataValue(comp, k); got != v {
					t.Errorf("%s: %s = %q, want %q", name, k, got, v)
				}
			}
			for _, k := range []string{"host", "server", "params", "username", "password"} {
				if _, ok := metadataValue(comp, k); ok {
					t.Errorf("%s: %s is set, which the connection string silently overrides", name, k)
				}
			}
			ref, ok := mongoSecretRef(comp)
			if !ok || ref.Name != "mongo-"+svc || ref.Key != "mongo-"+svc {
				t.Errorf("%s: connectionString from secret %+v, want the Secret mongo-%s, key mongo-%s", name, ref, svc, svc)
			}
			if comp.Auth.SecretStore != "" {
				t.Errorf("%s: auth.secretStore %q: the connection string must come from the Kubernetes Secret itself, which Dapr's operator resolves", name, comp.Auth.SecretStore)
			}
			if other, dup := secrets[ref.Name]; dup {
				t.Errorf("%s and %s share the database of Secret %s", name, other, ref.Name)
			}
			secrets[ref.Name] = name
			if c.overlay == "manifests/overlays/dev" {
				checkMongoURL(t, c, svc, ref.Name, ref.Key)
			}
			if v, _ := metadataValue(comp, "actorStateStore"); v == "true" {
				actorStores = append(actorStores, name)
			}
			checkMongo(t, c, svc)
		}
		if !reflect.DeepEqual(actorStores, []string{"expiration-store"}) {
			t.Errorf("actor state stores %v, want expiration-store alone", actorStores)
		}
	})
}

// mongoSecretRef is where a MongoDB store component reads its connection
// string from.
func mongoSecretRef(c *componentsv1alpha1.Component) (ref struct{ Name, Key string }, ok bool) {
	for _, m := range c.Spec.Metadata {
		if m.Name == "connectionString" {
			if m.HasValue() {
				return ref, false // a literal: credentials would be committed
			}
			ref.Name, ref.Key = m.SecretKeyRef.Name, m.SecretKeyRef.Key
			return ref, ref.Name != ""
		}
	}
	return ref, false
}

// checkMongoURL: the dev overlay's Secret holds the URL of the service's own
// replica set, with the replicaSet parameter (transactions, actor state).
func checkMongoURL(t *testing.T, c *cluster, svc, secret, key string) {
	t.Helper()
	sec, ok := c.secrets[secret]
	if !ok {
		t.Errorf("dev: no Secret %s for %s-store", secret, svc)
		return
	}
	raw := string(sec.Data[key])
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "mongodb" {
		t.Errorf("dev: Secret %s: %q is no mongodb:// URL", secret, raw)
		return
	}
	if want := svc + "-mongo-0." + svc + "-mongo:27017"; u.Host != want {
		t.Errorf("dev: Secret %s points at %s, want %s's own replica set %s", secret, u.Host, svc, want)
	}
	if rs := u.Query().Get("replicaSet"); rs != "rs0" {
		t.Errorf("dev: Secret %s: replicaSet=%q, want rs0 (Dapr runs transactions only when the URL names the replica set)", secret, rs)
	}
}

// checkMongo: the StatefulSet a store points at runs mongod as replica set
// rs0 on a volume, initiates it, and only its service may reach it.
func checkMongo(t *testing.T, c *cluster, svc string) {
	t.Helper()
	name := svc + "-mongo"
	ss, ok := c.statefulSets[name]
	if !ok {
		t.Errorf("no StatefulSet %s", name)
		return
	}
	if ss.Spec.ServiceName != name || c.services[name] == nil || c.services[name].Spec.ClusterIP != "None" || !c.services[name].Spec.PublishNotReadyAddresses {
		t.Errorf("%s: needs a headless Service %s that publishes the member before it is ready", name, name)
	}
	if !selects(c.services[name].Spec.Selector, ss.Spec.Template.Labels) || !selects(ss.Spec.Selector.MatchLabels, ss.Spec.Template.Labels) {
		t.Errorf("%s: selectors do not match its pods", name)
	}
	for other, o := range c.statefulSets {
		if other != name && selects(ss.Spec.Selector.MatchLabels, o.Spec.Template.Labels) {
			t.Errorf("%s's selector also selects %s's pods", name, other)
		}
	}
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 1 {
		t.Errorf("%s: want a single-node replica set", name)
	}
	if len(ss.Spec.VolumeClaimTemplates) != 1 {
		t.Errorf("%s: no PersistentVolumeClaim", name)
	}
	ctr := ss.Spec.Template.Spec.Containers[0]
	if args := strings.Join(ctr.Args, " "); !strings.Contains(args, "--replSet rs0") || !strings.Contains(args, "--bind_ip_all") {
		t.Errorf("%s: mongod %s, want --replSet rs0 --bind_ip_all", name, args)
	}
	var mountsData bool
	for _, m := range ctr.VolumeMounts {
		if m.Name == ss.Spec.VolumeClaimTemplates[0].Name && m.MountPath == "/data/db" {
			mountsData = true
		}
	}
	if !mountsData {
		t.Errorf("%s: the volume is not mongod's /data/db", name)
	}
	hook := ctr.Lifecycle
	if hook == nil || hook.PostStart == nil || hook.PostStart.Exec == nil {
		t.Errorf("%s: no postStart hook to initiate the replica set", name)
		return
	}
	script := strings.Join(hook.PostStart.Exec.Command, " ")
	var found bool
	for _, v := range ss.Spec.Template.Spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		cm, ok := c.configMaps[v.ConfigMap.Name]
		if !ok {
			t.Errorf("%s: ConfigMap %s is not rendered", name, v.ConfigMap.Name)
			continue
		}
		for file, body := range cm.Data {
			if strings.Contains(script, file) {
				found = true
				for _, want := range []string{"rs.initiate", "_id: 'rs0'", "NotYetInitialized", "${POD_NAME}.${POD_NAME%-*}:27017"} {
					if !strings.Contains(body, want) {
						t.Errorf("%s: %s lacks %q", name, file, want)
					}
				}
			}
		}
	}
	if !found {
		t.Errorf("%s: postStart %q runs no script of its ConfigMaps", name, script)
	}
	var policed bool
	for pn, np := range c.networkPolicies {
		if !selects(np.Spec.PodSelector.MatchLabels, ss.Spec.Template.Labels) {
			continue
		}
		policed = true
		for _, rule := range np.Spec.Ingress {
			for _, peer := range rule.From {
				if peer.PodSelector == nil {
					t.Errorf("NetworkPolicy %s admits more than pods", pn)
					continue
				}
				from := peer.PodSelector.MatchLabels["app.kubernetes.io/name"]
				if from != svc && from != name {
					t.Errorf("NetworkPolicy %s admits %v; want %s and %s only", pn, peer.PodSelector.MatchLabels, svc, name)
				}
			}
		}
	}
	if !policed {
		t.Errorf("%s: no NetworkPolicy", name)
	}
}

// Each Subscription goes through a pub/sub component scoped to every app it
// is scoped to, for a topic the stream captures.
func TestSubscriptionsUseScopedPubSubs(t *testing.T) {
	root := repoRoot(t)
	topics := eventTopics(t, root)
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		if len(c.subscriptions) == 0 {
			t.Fatal("no Subscriptions")
		}
		for name, s := range c.subscriptions {
			comp, ok := c.components[s.Spec.Pubsubname]
			if !ok {
				t.Errorf("Subscription %s: no component %q", name, s.Spec.Pubsubname)
				continue
			}
			if !strings.HasPrefix(comp.Spec.Type, "pubsub.") {
				t.Errorf("Subscription %s: %s is a %s", name, comp.Name, comp.Spec.Type)
			}
			if len(s.Scopes) == 0 {
				t.Errorf("Subscription %s is unscoped", name)
			}
			for _, app := range s.Scopes {
				if !contains(comp.Scopes, app) {
					t.Errorf("Subscription %s is for %s, but %s is scoped to %v", name, app, comp.Name, comp.Scopes)
				}
			}
			if !contains(topics, s.Spec.Topic) {
				t.Errorf("Subscription %s: topic %q is not in apps/pkg/events", name, s.Spec.Topic)
			}
			if s.Spec.Routes.Default == "" {
				t.Errorf("Subscription %s: no route", name)
			}
		}
	})
}

// The cluster's JetStream components are components/brokers/jetstream with the
// in-cluster NATS URL, nothing else changed.
func TestClusterJetStreamMirrorsTheBrokerSet(t *testing.T) {
	root := repoRoot(t)
	cluster := decodeCluster(t, "manifests/overlays/gke")
	files, err := filepath.Glob(filepath.Join(root, "components/brokers/jetstream/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no components/brokers/jetstream: %v", err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := DecodeAll(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			local := o.(*componentsv1alpha1.Component)
			seen[local.Name] = true
			remote, ok := cluster.components[local.Name]
			if !ok {
				t.Errorf("%s (%s) has no cluster copy", local.Name, rel(root, f))
				continue
			}
			if url, _ := metadataValue(remote, "natsURL"); url != "nats://nats:4222" {
				t.Errorf("%s: natsURL %q, want the in-cluster nats://nats:4222", local.Name, url)
			}
			if !reflect.DeepEqual(withoutURL(local), withoutURL(remote)) {
				t.Errorf("%s differs from %s beyond natsURL:\nlocal:   %+v\ncluster: %+v", local.Name, rel(root, f), withoutURL(local), withoutURL(remote))
			}
		}
	}
	for name, comp := range cluster.components {
		if comp.Spec.Type == "pubsub.jetstream" && !seen[name] {
			t.Errorf("cluster component %s is not in components/brokers/jetstream", name)
		}
	}
}

// withoutURL is what must agree between the local and the cluster component:
// type, version, scopes and every metadata value but the NATS URL (a secret
// locally, a literal in the cluster, where no secret store holds it).
func withoutURL(c *componentsv1alpha1.Component) map[string]any {
	md := map[string]string{}
	for _, m := range c.Spec.Metadata {
		if m.Name != "natsURL" {
			md[m.Name] = m.Value.String()
		}
	}
	scopes := append([]string(nil), c.Scopes...)
	sort.Strings(scopes)
	return map[string]any{"type": c.Spec.Type, "version": c.Spec.Version, "scopes": scopes, "metadata": md}
}

// components/cluster/subscriptions.yaml is components/subscriptions as is.
// A copy because kustomize will not load it from there: shown here with
// kustomize itself, so the copy goes when the restriction does.
func TestSubscriptionsCopyIsExact(t *testing.T) {
	root := repoRoot(t)
	orig, err := os.ReadFile(filepath.Join(root, "components/subscriptions/subscriptions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := os.ReadFile(filepath.Join(root, "components/cluster/subscriptions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(orig, cp) {
		t.Error("components/cluster/subscriptions.yaml differs from components/subscriptions/subscriptions.yaml: copy it again (cp components/subscriptions/subscriptions.yaml components/cluster/)")
	}

	dir := t.TempDir()
	k := filepath.Join(dir, "k")
	if err := os.MkdirAll(filepath.Join(k), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "subscriptions.yaml"), orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(k, "kustomization.yaml"), []byte("resources:\n  - ../subscriptions.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(root, k); err == nil || !strings.Contains(err.Error(), "security") {
		t.Errorf("kustomize loaded a file outside the kustomization (err %v): the copy in components/cluster could now be a reference", err)
	}
}

// Resiliency: policies on components that exist, retries on the publisher and
// the stores, a circuit breaker on the publisher, nothing on actors.
func TestResiliencyTargets(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, c *cluster) {
		if len(c.resiliencies) != 1 {
			t.Fatalf("%d Resiliency resources, want 1", len(c.resiliencies))
		}
		for _, r := range c.resiliencies {
			p := r.Spec.Policies
			if len(r.Spec.Targets.Actors) != 0 {
				t.Errorf("Resiliency %s targets actors %v: reminders must not be retried by the sidecar", r.Name, r.Spec.Targets.Actors)
			}
			for name, target := range r.Spec.Targets.Components {
				if _, ok := c.components[name]; !ok {
					t.Errorf("Resiliency %s targets component %s, which does not exist", r.Name, name)
					continue
				}
				for _, pn := range []struct{ kind, name string }{
					{"timeout", target.Outbound.Timeout}, {"retry", target.Outbound.Retry}, {"circuitBreaker", target.Outbound.CircuitBreaker},
					{"timeout", target.Inbound.Timeout}, {"retry", target.Inbound.Retry}, {"circuitBreaker", target.Inbound.CircuitBreaker},
				} {
					if pn.name == "" {
						continue
					}
					var ok bool
					switch pn.kind {
					case "timeout":
						_, ok = p.Timeouts[pn.name]
					case "retry":
						_, ok = p.Retries[pn.name]
					case "circuitBreaker":
						_, ok = p.CircuitBreakers[pn.name]
					}
					if !ok {
						t.Errorf("Resiliency %s: %s uses %s %q, which is not defined", r.Name, name, pn.kind, pn.name)
					}
				}
			}
			pub, ok := r.Spec.Targets.Components["pubsub"]
			if !ok || pub.Outbound.Retry == "" || pub.Outbound.CircuitBreaker == "" {
				t.Errorf("Resiliency %s: want a retry and a circuit breaker on pubsub's outbound", r.Name)
			} else if p.Retries[pub.Outbound.Retry].Policy != "exponential" {
				t.Errorf("pubsub retries: policy %q, want exponential backoff", p.Retries[pub.Outbound.Retry].Policy)
			}
			for name, comp := range c.components {
				if strings.HasPrefix(comp.Spec.Type, "state.") {
					if target, ok := r.Spec.Targets.Components[name]; !ok || target.Outbound.Retry == "" {
						t.Errorf("Resiliency %s: no retry for state store %s", r.Name, name)
					} else if rp := p.Retries[target.Outbound.Retry]; rp.MaxRetries == nil || *rp.MaxRetries < 1 || *rp.MaxRetries > 3 {
						n := "unset (unlimited)"
						if rp.MaxRetries != nil {
							n = strconv.Itoa(*rp.MaxRetries)
						}
						t.Errorf("state store %s: maxRetries %s, want 1-3: a transaction that lost an ETag race is retried too", name, n)
					}
				}
				if strings.HasPrefix(comp.Spec.Type, "pubsub.") {
					if target, ok := r.Spec.Targets.Components[name]; ok && target.Inbound.Retry != "" {
						t.Errorf("Resiliency %s: inbound retry on %s adds to JetStream's own redelivery", r.Name, name)
					}
				}
			}
		}
		cfg, ok := c.configurations["tixmesh"]
		if !ok {
			t.Fatal("no Configuration tixmesh")
		}
		if cfg.Spec.NameResolutionSpec != nil {
			t.Errorf("Configuration tixmesh sets nameResolution %q; in a cluster Kubernetes DNS is the default", cfg.Spec.NameResolutionSpec.Component)
		}
		if cfg.Spec.TracingSpec == nil || cfg.Spec.TracingSpec.SamplingRate == "" {
			t.Error("Configuration tixmesh: no tracing")
		}
	})
}
