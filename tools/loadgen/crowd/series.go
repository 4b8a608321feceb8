package crowd

import (
	"slices"
	"time"
)

// Series is a set of durations with nearest-rank percentiles.
type Series []time.Duration

// Pct returns the q-th quantile (0..1), nearest rank; 0 when empty.
func (s Series) Pct(q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	d := slices.Clone(s)
	slices.Sort(d)
	i := int(q*float64(len(d))+0.5) - 1
	return d[max(0, min(i, len(d)-1))]
}
