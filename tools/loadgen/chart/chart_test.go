package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot/vg"
)

func TestWritePNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.png")
	panels := []Panel{
		{Title: "latency", YLabel: "ms", Lines: []Line{{Name: "p99", X: []float64{0, 1, 2}, Y: []float64{10, 30, 20}}}},
		{Title: "throughput", YLabel: "/s", Lines: []Line{{Name: "orders", X: []float64{0, 1, 2}, Y: []float64{100, 90, 120}}}, Marks: []Mark{{At: 1, Label: "SIGKILL nats"}}},
	}
	if err := WritePNG(path, 8*vg.Inch, panels); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 2000 {
		t.Errorf("not a PNG with a chart in it (%d bytes)", len(b))
	}
	if err := WritePNG(path, 8*vg.Inch, nil); err == nil {
		t.Error("no panels: want an error")
	}
}
