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

// memorySample is what the mesh's processes used during the run: peak
// resident memory (MiB) and CPU time (seconds).
//
// RSS counts the pages of a binary shared by several processes (six daprd
// map one 108 MB executable) once per process; PSS (proportional set size)
// divides shared pages among the processes that share them, so PSS adds up
// to the memory actually used.
type memorySample struct {
	AppsAndSidecars    float64 // RSS
	AppsAndSidecarsPSS float64
	AppsPSS            float64            // the apps alone (peak of their sum)
	SidecarsPSS        float64            // every daprd (peak of their sum)
	Sidecars           float64            // RSS of every daprd, summed
	Infrastructure     float64            // RSS
	PerProcess         map[string]float64 // peak RSS by process name
	PSS                map[string]float64 // peak PSS by app and sidecar ("daprd-<app id>")
	CPU                map[string]float64 // CPU seconds by process name, over the window
	Window             time.Duration      // how long CPU was sampled
}

// kind says what a sampled process is: "app", "sidecar" or "infrastructure".
func (m memorySample) kind(name string) string {
	switch _, measured := m.PSS[name]; {
	case strings.HasPrefix(name, "daprd-"):
		return "sidecar"
	case measured:
		return "app"
	}
	return "infrastructure"
}

type memorySampler struct {
	mu    sync.Mutex
	peak  memorySample
	first map[int]float64 // CPU seconds of each pid when first seen
	last  map[int]float64
	names map[int]string
	start time.Time
	done  chan struct{}
}

// startMemorySampler reads /proc every interval until ctx ends. Apps are the
// binaries under .mesh/bin, sidecars daprd (named by their --app-id); the
// rest of the runtime's binaries (nats-server, placement, scheduler,
// stripe-mock) and the mesh's postgres are infrastructure.
func startMemorySampler(ctx context.Context, every time.Duration) *memorySampler {
	m := &memorySampler{
		peak:  memorySample{PerProcess: map[string]float64{}, PSS: map[string]float64{}, CPU: map[string]float64{}},
		first: map[int]float64{}, last: map[int]float64{}, names: map[int]string{},
		start: time.Now(), done: make(chan struct{}),
	}
	go func() {
		defer close(m.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-ctx.Done():
				m.sample()
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
	for pid, name := range m.names {
		m.peak.CPU[name] += m.last[pid] - m.first[pid]
	}
	m.peak.Window = time.Since(m.start)
	return m.peak
}

func (m *memorySampler) sample() {
	var apps, appsPSS, appsOnlyPSS, sidecarsPSS, infra, sidecars float64
	per, pss := map[string]float64{}, map[string]float64{}
	cpu := map[int]float64{}
	names := map[int]string{}
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
			p := kibField(filepath.Join(d, "smaps_rollup"), "Pss:") / 1024
			if name == "daprd" {
				name = "daprd-" + appID(cmdline(d))
				sidecars += rss
				sidecarsPSS += p
			} else {
				appsOnlyPSS += p
			}
			apps += rss
			appsPSS += p
			pss[name] += p
		case strings.Contains(exe, "/.dapr/bin/"), strings.HasPrefix(name, "postgres") && isMeshPostgres(cmdline(d)):
			infra += rss
		case strings.HasPrefix(name, "postgres"):
			// a backend of the mesh's cluster: its parent is the postmaster
			if !isMeshPostgres(cmdline(filepath.Join("/proc", ppid(d)))) {
				continue
			}
			infra += rss
		default:
			continue
		}
		if strings.HasPrefix(name, "postgres") {
			name = "postgres"
		}
		per[name] += rss
		pid, _ := strconv.Atoi(filepath.Base(d))
		cpu[pid] = cpuSeconds(d)
		names[pid] = name
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.peak.AppsAndSidecars = max(m.peak.AppsAndSidecars, apps)
	m.peak.AppsAndSidecarsPSS = max(m.peak.AppsAndSidecarsPSS, appsPSS)
	m.peak.AppsPSS = max(m.peak.AppsPSS, appsOnlyPSS)
	m.peak.SidecarsPSS = max(m.peak.SidecarsPSS, sidecarsPSS)
	m.peak.Infrastructure = max(m.peak.Infrastructure, infra)
	m.peak.Sidecars = max(m.peak.Sidecars, sidecars)
	for k, v := range per {
		m.peak.PerProcess[k] = max(m.peak.PerProcess[k], v)
	}
	for k, v := range pss {
		m.peak.PSS[k] = max(m.peak.PSS[k], v)
	}
	for pid, c := range cpu {
		if _, ok := m.first[pid]; !ok {
			m.first[pid] = c
		}
		m.last[pid] = c
		m.names[pid] = names[pid]
	}
}

// appID is daprd's --app-id.
func appID(cmd string) string {
	args := strings.Split(cmd, "\x00")
	for i, a := range args {
		if (a == "--app-id" || a == "-app-id") && i+1 < len(args) {
			return args[i+1]
		}
	}
	return "?"
}

func cmdline(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	return string(b)
}

// statFields returns /proc/<pid>/stat's fields after the command name.
func statFields(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return nil
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	return strings.Fields(s)
}

func ppid(dir string) string {
	if f := statFields(dir); len(f) > 1 {
		return f[1]
	}
	return "0"
}

// cpuSeconds is utime + stime (fields 14 and 15 of stat), at 100 ticks/s.
func cpuSeconds(dir string) float64 {
	f := statFields(dir)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100
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

// isMeshPostgres tells the mesh's own PostgreSQL (its data directory under
// .mesh, or under /var/lib/tixmesh when the postgres user cannot reach it)
// from the machine's.
func isMeshPostgres(cmd string) bool {
	return strings.Contains(cmd, ".mesh") || strings.Contains(cmd, "tixmesh")
}
