package faults

import (
	"context"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/tixmesh/ticketing/tools/mesh"
)

// Record is one fault as it happened.
type Record struct {
	Fault
	At     time.Time // injected
	Healed time.Time // lifted: the restart began, SIGCONT, link up
	Ready  time.Time // every process it touched was ready again
	Err    string    // the fault could not be injected or healed
}

// Exit is a process that died on its own (not killed by a fault) and was
// started again by the supervisor, as Kubernetes would.
type Exit struct {
	Name string
	At   time.Time
	Err  string
}

// injector injects faults into a running mesh, one at a time, and restarts
// processes that die on their own.
type injector struct {
	m   *mesh.Mesh
	ctl mesh.Control
	log io.Writer

	mu       sync.Mutex
	faulting map[string]bool // processes a fault is holding down
	exits    []Exit
}

func newInjector(m *mesh.Mesh, log io.Writer) *injector {
	return &injector{m: m, ctl: m.Control(), log: log, faulting: map[string]bool{}}
}

func (in *injector) hold(names []string, held bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, n := range names {
		in.faulting[n] = held
	}
}

// inject runs one fault to its end: down (or frozen, or cut) for f.Hold,
// then healed and waited for.
func (in *injector) inject(ctx context.Context, f Fault) Record {
	r := Record{Fault: f, At: time.Now()}
	fmt.Fprintf(in.log, "chaos: %s\n", f)
	var err error
	switch f.Kind {
	case Kill:
		err = in.kill(ctx, &r, []string{f.Target})
	case KillAll:
		names := []string{}
		for _, p := range in.m.Procs() {
			names = append(names, p.Name)
		}
		err = in.kill(ctx, &r, names)
	case Pause:
		p := in.m.Proc(f.Target)
		in.hold([]string{f.Target}, true)
		p.Signal(syscall.SIGSTOP)
		pause(ctx, f.Hold)
		p.Signal(syscall.SIGCONT)
		in.hold([]string{f.Target}, false)
		r.Healed, r.Ready = time.Now(), time.Now()
	case Cut:
		if err = in.ctl.CutBroker(); err == nil {
			pause(ctx, f.Hold)
			err = in.ctl.HealBroker()
		}
		r.Healed, r.Ready = time.Now(), time.Now()
	}
	if err != nil {
		r.Err = err.Error()
		fmt.Fprintf(in.log, "chaos: %s: %v\n", f, err)
	}
	return r
}

// kill SIGKILLs the named processes at once, keeps them down for the hold,
// then starts them again: the infrastructure first, then apps and sidecars
// together (each waits for the other), as a cold start does.
func (in *injector) kill(ctx context.Context, r *Record, names []string) error {
	in.hold(names, true)
	defer in.hold(names, false)
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.m.Proc(n).Kill()
		}()
	}
	wg.Wait()
	pause(ctx, r.Hold)
	r.Healed = time.Now()
	var infra, rest []string
	for _, n := range names {
		if in.m.Proc(n).Kind == "infra" {
			infra = append(infra, n)
		} else {
			rest = append(rest, n)
		}
	}
	for _, group := range [][]string{infra, rest} {
		if len(group) == 0 {
			continue
		}
		if err := in.ctl.Resume(ctx, group...); err != nil {
			return err
		}
	}
	r.Ready = time.Now()
	return nil
}

// supervise restarts, every second, any process that exited while no fault
// held it down, and records the exit.
func (in *injector) supervise(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range in.m.Procs() {
			in.mu.Lock()
			held := in.faulting[p.Name]
			in.mu.Unlock()
			exited, err := p.Exited()
			if held || !exited {
				continue
			}
			e := Exit{Name: p.Name, At: time.Now()}
			if err != nil {
				e.Err = err.Error()
			}
			fmt.Fprintf(in.log, "chaos: %s exited on its own (%s): restarting it\n", p.Name, e.Err)
			in.mu.Lock()
			in.exits = append(in.exits, e)
			in.mu.Unlock()
			if err := in.ctl.Resume(ctx, p.Name); err != nil {
				fmt.Fprintf(in.log, "chaos: restarting %s: %v\n", p.Name, err)
			}
		}
	}
}

// pause waits d, or less if ctx ends: the time a fault is held.
func pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
