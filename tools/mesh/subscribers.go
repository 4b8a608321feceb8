package mesh

import "sort"

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
