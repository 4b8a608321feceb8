package mesh

import (
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// sidecarConfig is the Configuration every daprd runs with: dapr.yaml's, or,
// when Options.ZipkinURL is set, a copy of it in .mesh/ whose tracing exports
// every span to that Zipkin endpoint ("" if dapr.yaml names none).
func (m *Mesh) sidecarConfig() (string, error) {
	c := m.runFile.Common.ConfigFilePath
	if c == "" {
		return "", nil
	}
	src := m.runFile.path(c)
	if m.opts.ZipkinURL == "" {
		return src, nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	spec, _ := doc["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
		doc["spec"] = spec
	}
	tracing, _ := spec["tracing"].(map[string]any)
	if tracing == nil {
		tracing = map[string]any{}
		spec["tracing"] = tracing
	}
	tracing["samplingRate"] = "1"
	tracing["zipkin"] = map[string]any{"endpointAddress": m.opts.ZipkinURL}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(m.dataDir, "config-tracing.yaml")
	return dst, os.WriteFile(dst, out, 0o644)
}
