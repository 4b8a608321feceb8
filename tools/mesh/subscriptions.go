package mesh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"
)

// subscription is one declarative subscription: the component that carries
// it, the app that receives it, and its topic.
type subscription struct {
	Component, App, Topic string
}

// loadSubscriptions reads the declarative subscriptions in the resources
// paths, so that the runner provisions (and the tests probe) exactly what the
// sidecars subscribe.
func (m *Mesh) loadSubscriptions() error {
	m.subs = map[string]subscription{}
	for _, dir := range m.resourcesPaths() {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			dec := yaml.NewDecoder(bytes.NewReader(b))
			for {
				var doc struct {
					Kind string
					Spec struct {
						PubsubName string `yaml:"pubsubname"`
						Topic      string
					}
					Scopes []string
				}
				if err := dec.Decode(&doc); err != nil {
					if errors.Is(err, io.EOF) {
						break
					}
					return fmt.Errorf("%s: %w", f, err)
				}
				if doc.Kind != "Subscription" || len(doc.Scopes) != 1 {
					continue
				}
				m.subs[doc.Spec.PubsubName] = subscription{Component: doc.Spec.PubsubName, App: doc.Scopes[0], Topic: doc.Spec.Topic}
			}
		}
	}
	return nil
}

// sortedSubs returns the subscriptions in a stable order.
func sortedSubs(subs map[string]subscription) []subscription {
	out := make([]subscription, 0, len(subs))
	for _, s := range subs {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Component < out[j].Component })
	return out
}

// Subscribers maps each topic to the apps that subscribe to it, as the
// declarative subscriptions say: the fault checker expects every event on a
// topic to be handled by each of them.
func (m *Mesh) Subscribers() map[string][]string {
	out := map[string][]string{}
	for _, s := range m.subs {
		out[s.Topic] = append(out[s.Topic], s.App)
	}
	for _, apps := range out {
		sort.Strings(apps)
	}
	return out
}
