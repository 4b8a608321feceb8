package main

import (
	"slices"
	"time"
)

// series is a set of durations.
type series struct{ d []time.Duration }

func newSeries() *series { return &series{} }

func (s *series) add(d time.Duration) { s.d = append(s.d, d) }

func (s *series) count() int { return len(s.d) }

// pct returns the q-th quantile (0..1), nearest rank.
func (s *series) pct(q float64) time.Duration {
	if len(s.d) == 0 {
		return 0
	}
	d := slices.Clone(s.d)
	slices.Sort(d)
	i := int(q*float64(len(d))+0.5) - 1
	i = max(0, min(i, len(d)-1))
	return d[i]
}
