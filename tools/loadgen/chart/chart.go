// Package chart draws the reports' PNG charts: panels of lines over the
// run's time, stacked, with vertical marks (faults) where something happened.
package chart

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Line is one series: Y against X (seconds into the run).
type Line struct {
	Name string
	X, Y []float64
}

// Mark is a vertical line at a moment, labelled.
type Mark struct {
	At    float64
	Label string
}

// Panel is one chart of the stack.
type Panel struct {
	Title, YLabel string
	Lines         []Line
	Marks         []Mark
}

var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{214, 39, 40, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{255, 127, 14, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
}

// WritePNG draws the panels one above the other, sharing the time axis, into
// a PNG file.
func WritePNG(path string, width vg.Length, panels []Panel) error {
	if len(panels) == 0 {
		return fmt.Errorf("chart %s: no panels", path)
	}
	plots := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		pl, err := draw1(p, i == len(panels)-1)
		if err != nil {
			return err
		}
		plots[i] = []*plot.Plot{pl}
	}
	height := vg.Length(len(panels)) * 3 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	t := draw.Tiles{Rows: len(panels), Cols: 1, PadY: vg.Points(6), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canvases := plot.Align(plots, t, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return err
	}
	return f.Close()
}

func draw1(p Panel, last bool) (*plot.Plot, error) {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.Y.Label.Text = p.YLabel
	if last {
		pl.X.Label.Text = "seconds into the run"
	}
	pl.Legend.Top = true
	pl.Add(plotter.NewGrid())
	ymax := 1.0
	for i, l := range p.Lines {
		xy := make(plotter.XYs, len(l.X))
		for j := range l.X {
			xy[j] = plotter.XY{X: l.X[j], Y: l.Y[j]}
			ymax = max(ymax, l.Y[j])
		}
		ln, err := plotter.NewLine(xy)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.Name, err)
		}
		ln.Color = palette[i%len(palette)]
		ln.Width = vg.Points(1.2)
		pl.Add(ln)
		pl.Legend.Add(l.Name, ln)
	}
	for _, m := range p.Marks {
		ln, err := plotter.NewLine(plotter.XYs{{X: m.At, Y: 0}, {X: m.At, Y: ymax}})
		if err != nil {
			return nil, err
		}
		ln.Color = color.RGBA{120, 120, 120, 160}
		ln.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		pl.Add(ln)
		if m.Label != "" {
			lb, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: m.At, Y: ymax}}, Labels: []string{m.Label}})
			if err == nil {
				lb.TextStyle[0].Rotation = -1.5708
				lb.TextStyle[0].Font.Size = vg.Points(6)
				pl.Add(lb)
			}
		}
	}
	pl.Y.Min = 0
	return pl, nil
}
