package main

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// latenessStats records how late each expiration fired after its deadline,
// for GET /debug/lateness (benchmarks read it; it is not routed publicly).
type latenessStats struct {
	mu      sync.Mutex
	samples []time.Duration
}

// maxSamples bounds memory: the most recent expirations are kept.
const maxSamples = 100_000

func newLatenessStats() *latenessStats { return &latenessStats{} }

func (l *latenessStats) observe(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.samples) == maxSamples {
		l.samples = l.samples[1:]
	}
	l.samples = append(l.samples, d)
}

// summary is a snapshot of the recorded lateness, in milliseconds.
type summary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func (l *latenessStats) summary() summary {
	l.mu.Lock()
	s := slices.Clone(l.samples)
	l.mu.Unlock()
	if len(s) == 0 {
		return summary{}
	}
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q * float64(len(s)-1))
		return float64(s[i]) / float64(time.Millisecond)
	}
	return summary{Count: len(s), P50: at(0.5), P90: at(0.9), P99: at(0.99), Max: at(1)}
}

func handleLateness(l *latenessStats) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.JSON(w, http.StatusOK, l.summary())
	})
}
