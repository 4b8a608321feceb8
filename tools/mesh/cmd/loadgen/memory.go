package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memorySample is the peak resident memory of the mesh's apps and sidecars
// seen during the run, and of the infrastructure, in MiB.
//
// RSS counts the pages of a binary shared by several processes (six daprd
// map one 108 MB executable) once per process; PSS (proportional set size)
// divides shared pages among the processes that share them, so PSS adds up
// to the memory actually used.
type memorySample struct {
	AppsAndSidecars    float64 // RSS
	AppsAndSidecarsPSS float64
	Infrastructure     float64            // RSS
	PerProcess         map[string]float64 // RSS
}

type memorySampler struct {
	mu   sync.Mutex
	peak memorySample
	done chan struct{}
}

// startMemorySampler reads /proc every interval until ctx ends. Apps are the
// binaries under .mesh/bin, sidecars daprd; the rest of the runtime's
// binaries (nats-server, placement, scheduler, stripe-mock) and postgres are
// infrastructure.
func startMemorySampler(ctx context.Context, every time.Duration) *memorySampler {
	m := &memorySampler{peak: memorySample{PerProcess: map[string]float64{}}, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memorySampler) wait() memorySample {
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peak
}

func (m *memorySampler) sample() {
	var apps, appsPSS, infra float64
	per := map[string]float64{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		exe, err := os.Readlink(filepath.Join(d, "exe"))
		if err != nil {
			continue
		}
		name := filepath.Base(exe)
		rss := kibField(filepath.Join(d, "status"), "VmRSS:") / 1024
		switch {
		case strings.Contains(exe, "/.mesh/bin/"), name == "daprd":
			if name == "daprd" {
				name = "daprd (all)"
			}
			apps += rss
			appsPSS += kibField(filepath.Join(d, "smaps_rollup"), "Pss:") / 1024
		case strings.Contains(exe, "/.dapr/bin/"), strings.HasPrefix(name, "postgres") && strings.Contains(cmdline(d), ".mesh"):
			infra += rss
		default:
			continue
		}
		per[name] += rss
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if apps > m.peak.AppsAndSidecars {
		m.peak.AppsAndSidecars = apps
	}
	if appsPSS > m.peak.AppsAndSidecarsPSS {
		m.peak.AppsAndSidecarsPSS = appsPSS
	}
	if infra > m.peak.Infrastructure {
		m.peak.Infrastructure = infra
	}
	for k, v := range per {
		if v > m.peak.PerProcess[k] {
			m.peak.PerProcess[k] = v
		}
	}
}

func cmdline(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	return string(b)
}

// kibField reads a "Name:   123 kB" line of a /proc file, in KiB.
func kibField(path, field string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb
		}
	}
	return 0
}
