package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

// The catalogue scenario measures what a visitor feels as the catalogue
// grows: it lists tickets until the catalogue holds each of -sizes, and at
// each size reads the landing page (GET /, the web client's first page) and
// GET /api/tickets (its first page) -reads times each, -buyers at a time.
// The goal is a flat line: the largest catalogue's p99 within 1.5x of the
// smallest's.

// catalogueSize is what was read at one size of the catalogue.
type catalogueSize struct {
	tickets int
	listed  time.Duration // how long listing up to this size took
	landing *series
	api     *series
	errors  map[string]int // "GET / 503", "GET /api/tickets: timeout"...
	// failed counts each page's reads that got no 200, by series.
	failed map[*series]int
}

type catalogueResult struct {
	sizes []*catalogueSize
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || (len(out) > 0 && n <= out[len(out)-1]) {
			return nil, fmt.Errorf("-sizes %q: want increasing positive counts, such as 100,10000,100000", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func runCatalogue(ctx context.Context, o options) (*catalogueResult, error) {
	sizes, err := parseSizes(o.sizes)
	if err != nil {
		return nil, err
	}
	sellers := make([]*crowd.Shopper, 8)
	for i := range sellers {
		if sellers[i], err = crowd.SignUp(ctx, o.url, "catalogue-seller"); err != nil {
			return nil, err
		}
	}
	res := &catalogueResult{}
	listed := 0
	for _, size := range sizes {
		start := time.Now()
		if err := listUpTo(ctx, sellers, listed, size); err != nil {
			return nil, err
		}
		listed = size
		cs := &catalogueSize{tickets: size, listed: time.Since(start), landing: newSeries(), api: newSeries(), errors: map[string]int{}, failed: map[*series]int{}}
		// The listings' events are still being handled (orders copies each
		// ticket): read once the machine is quiet, as a visitor after the
		// sellers are done would.
		var quiet time.Duration
		if o.quiet > 0 {
			quiet = waitQuiet(ctx, o.quiet, 3*time.Minute)
		}
		fmt.Fprintf(os.Stderr, "catalogue: %d tickets listed (%.0f s), quiet after %.0f s more; reading\n", size, cs.listed.Seconds(), quiet.Seconds())
		readCatalogue(ctx, o, cs)
		res.sizes = append(res.sizes, cs)
	}
	return res, nil
}

// listUpTo lists tickets from the catalogue's count from up to to, 16 at a time.
func listUpTo(ctx context.Context, sellers []*crowd.Shopper, from, to int) error {
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for w := range 16 {
		seller := sellers[w%len(sellers)]
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= to || ctx.Err() != nil {
					return
				}
				status, _, err := seller.Call(ctx, "POST", "/api/tickets", map[string]any{"title": fmt.Sprintf("Catalogue ticket %d", i), "price": crowd.Price(i)}, nil)
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("POST /api/tickets: status %d", status)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				if (i+1)%10000 == 0 {
					fmt.Fprintf(os.Stderr, "catalogue: %d listed\n", i+1)
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// readCatalogue reads the landing page and the API's first page o.reads
// times each, o.buyers at a time, as anonymous visitors.
func readCatalogue(ctx context.Context, o options, cs *catalogueSize) {
	client := &http.Client{Timeout: 10 * time.Second}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range o.buyers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(2*o.reads) || ctx.Err() != nil {
					return
				}
				path, into := "/", cs.landing
				if i%2 == 1 {
					path, into = "/api/tickets", cs.api
				}
				start := time.Now()
				resp, err := client.Get(o.url + path)
				took := time.Since(start)
				problem := ""
				if err != nil {
					problem = "GET " + path + ": " + crowd.ErrorKind(err)
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					took = time.Since(start)
					if resp.StatusCode != http.StatusOK {
						problem = fmt.Sprintf("GET %s %d", path, resp.StatusCode)
					}
				}
				mu.Lock()
				if problem != "" {
					cs.errors[problem]++
					cs.failed[into]++
				} else {
					into.add(took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func (r *catalogueResult) markdown(o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Catalogue: the first page as the catalogue grows\n\n")
	fmt.Fprintf(&b, "`%s`, %s. At each size, %d reads of each page by %d anonymous visitors at a time.\n\n",
		o.command, time.Now().UTC().Format("2006-01-02 15:04 MST"), o.reads, o.buyers)
	b.WriteString("| tickets listed | page | reads | p50 | p90 | p99 | max | errors |\n|---|---|---|---|---|---|---|---|\n")
	for _, cs := range r.sizes {
		for _, p := range []struct {
			name string
			s    *series
		}{{"`GET /` (landing page)", cs.landing}, {"`GET /api/tickets`", cs.api}} {
			fmt.Fprintf(&b, "| %d | %s | %d | %s | %s | %s | %s | %d |\n", cs.tickets, p.name, p.s.count(),
				ms(p.s.pct(0.5)), ms(p.s.pct(0.9)), ms(p.s.pct(0.99)), ms(p.s.pct(1)), cs.failed[p.s])
		}
	}
	if n := len(r.sizes); n > 1 {
		first, last := r.sizes[0], r.sizes[n-1]
		b.WriteString("\n| p99 at the largest / at the smallest | ratio | goal |\n|---|---|---|\n")
		for _, p := range []struct {
			name string
			a, z *series
		}{{"landing page", first.landing, last.landing}, {"`GET /api/tickets`", first.api, last.api}} {
			ratio := float64(p.z.pct(0.99)) / float64(max(p.a.pct(0.99), time.Microsecond))
			verdict := "met"
			if ratio > 1.5 {
				verdict = "not met"
			}
			fmt.Fprintf(&b, "| %s (%d vs %d tickets) | %.2fx | <= 1.5x: %s |\n", p.name, last.tickets, first.tickets, ratio, verdict)
		}
	}
	var errs []string
	for _, cs := range r.sizes {
		for k, n := range cs.errors {
			errs = append(errs, fmt.Sprintf("- %d tickets: %s: %d", cs.tickets, k, n))
		}
	}
	if len(errs) > 0 {
		b.WriteString("\n## Errors\n\n" + strings.Join(errs, "\n") + "\n")
	}
	return b.String()
}

// waitQuiet waits until the machine's busy CPU over one second is below
// cores (of one core), or for at most limit, and returns how long it waited.
func waitQuiet(ctx context.Context, cores float64, limit time.Duration) time.Duration {
	start := time.Now()
	busy, total, ok := machineCPU()
	for ok && time.Since(start) < limit && ctx.Err() == nil {
		time.Sleep(time.Second)
		b, t, ok2 := machineCPU()
		if !ok2 || t <= total {
			break
		}
		// ticks are per CPU: busy share of all CPUs times their count
		if share := (b - busy) / (t - total) * float64(runtime.NumCPU()); share < cores {
			break
		}
		busy, total = b, t
	}
	return time.Since(start)
}

// machineCPU reads /proc/stat's first line: busy and total ticks of all CPUs.
func machineCPU() (busy, total float64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, 0, false
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, true
}
