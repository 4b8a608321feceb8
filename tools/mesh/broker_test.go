package mesh

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// components reads the Dapr Components in dir: name -> type and scopes.
func components(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no components in %s (%v)", dir, err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Kind     string
			Metadata struct{ Name string }
			Spec     struct{ Type string }
			Scopes   []string
		}
		if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.Kind != "Component" {
			continue
		}
		sort.Strings(c.Scopes)
		out[c.Metadata.Name] = c.Spec.Type + " " + strings.Join(c.Scopes, ",")
	}
	return out
}

// The promise "swap the broker by editing components" holds only if every
// broker set defines the same component names with the same scopes, so that
// components/subscriptions and the apps never change.
func TestEveryBrokerSetHasTheSameComponentsAndScopes(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	scopes := func(set map[string]string) map[string]string {
		out := map[string]string{}
		for name, typeAndScopes := range set {
			_, s, _ := strings.Cut(typeAndScopes, " ")
			out[name] = s
		}
		return out
	}
	want := scopes(components(t, filepath.Join(repo, "components", "brokers", JetStream)))
	for _, b := range Brokers[1:] {
		set := components(t, filepath.Join(repo, "components", "brokers", b))
		for name, typeAndScopes := range set {
			if !strings.HasPrefix(typeAndScopes, "pubsub."+b+" ") {
				t.Errorf("%s/%s is %q, want a pubsub.%s component", b, name, typeAndScopes, b)
			}
		}
		if got := scopes(set); !reflect.DeepEqual(got, want) {
			t.Errorf("components/brokers/%s: components and scopes\n got %v\nwant %v (as jetstream)", b, got, want)
		}
	}

	m := &Mesh{opts: Options{Broker: Redis}, runFile: &RunFile{dir: repo, Common: RunCommon{ResourcesPaths: []string{"./components/subscriptions", "./components/brokers/jetstream"}}}}
	if err := m.loadSubscriptions(); err != nil {
		t.Fatal(err)
	}
	if len(m.subs) == 0 {
		t.Fatal("no subscriptions found")
	}
	for name, s := range m.subs {
		if got := want[name]; got != s.App {
			t.Errorf("subscription through %s (app %s, topic %s): the component is scoped to %q", name, s.App, s.Topic, got)
		}
	}
}

func TestRESPReplies(t *testing.T) {
	in := "*2\r\n$3\r\nfoo\r\n*4\r\n+name\r\n$6\r\norders\r\n$7\r\npending\r\n:3\r\n" + "-BUSYGROUP exists\r\n" + "$-1\r\n"
	c := &respConn{r: bufio.NewReader(strings.NewReader(in))}
	v, err := c.read()
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"foo", []any{"name", "orders", "pending", int64(3)}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got %#v, want %#v", v, want)
	}
	if field(want[1], "name") != "orders" || fieldValue(want[1], "pending") != int64(3) {
		t.Errorf("field lookup failed on %v", want[1])
	}
	if _, err := c.read(); err == nil || !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		t.Errorf("error reply: got %v", err)
	}
	if v, err := c.read(); v != nil || err != nil {
		t.Errorf("nil bulk: got %v, %v", v, err)
	}
}
