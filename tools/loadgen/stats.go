package main

import (
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

// series is a set of durations for the focused scenarios; its percentiles
// are crowd.Series's (nearest rank).
type series struct{ d crowd.Series }

func newSeries() *series { return &series{} }

func (s *series) add(d time.Duration) { s.d = append(s.d, d) }

func (s *series) count() int { return len(s.d) }

// pct returns the q-th quantile (0..1).
func (s *series) pct(q float64) time.Duration { return s.d.Pct(q) }
