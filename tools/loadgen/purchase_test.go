package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/baseline"
)

// origin stands in for the public origin: users sign up (a cookie names
// them), sellers list tickets, buyers order and pay. Of the tickets listed,
// every fourth cannot be ordered (404) and the order of the one after it
// cannot be paid (503), so that a run has purchases and failed loops of both
// kinds. It refuses what the scenario must never do: a seller ordering its
// own ticket, an order for a ticket never listed, a payment for another
// buyer's order or without tok_visa.
type origin struct {
	t       *testing.T
	mu      sync.Mutex
	users   int
	tickets map[string]string // ticket -> seller
	orders  map[string]string // order -> buyer
	n       int
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var in map[string]any
	_ = json.NewDecoder(r.Body).Decode(&in)
	user := ""
	if c, err := r.Cookie("user"); err == nil {
		user = c.Value
	}
	answer := func(status int, id string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
	}
	switch r.URL.Path {
	case "/api/users/signup":
		o.users++
		id := fmt.Sprintf("u%d", o.users)
		http.SetCookie(w, &http.Cookie{Name: "user", Value: id, Path: "/"})
		answer(http.StatusCreated, id)
	case "/api/tickets":
		o.n++
		id := fmt.Sprintf("t%d", o.n)
		o.tickets[id] = user
		answer(http.StatusCreated, id)
	case "/api/orders":
		ticket, _ := in["ticketId"].(string)
		seller, ok := o.tickets[ticket]
		var k int
		fmt.Sscanf(ticket, "t%d", &k)
		switch {
		case !ok || k%4 == 0:
			answer(http.StatusNotFound, "")
		case seller == user:
			o.t.Errorf("%s ordered its own ticket %s", user, ticket)
			answer(http.StatusBadRequest, "")
		default:
			id := "o" + ticket[1:]
			o.orders[id] = user
			answer(http.StatusCreated, id)
		}
	case "/api/payments":
		order, _ := in["orderId"].(string)
		var k int
		fmt.Sscanf(order, "o%d", &k)
		switch {
		case o.orders[order] != user || in["token"] != "tok_visa":
			o.t.Errorf("payment %v by %s: not the buyer's order, or not tok_visa", in, user)
			answer(http.StatusBadRequest, "")
		case k%4 == 1:
			answer(http.StatusServiceUnavailable, "")
		default:
			answer(http.StatusCreated, "p"+order[1:])
		}
	default:
		http.NotFound(w, r)
	}
}

func TestPurchaseKeepsTheBooksOfEveryLoop(t *testing.T) {
	srv := httptest.NewServer(&origin{t: t, tickets: map[string]string{}, orders: map[string]string{}})
	defer srv.Close()
	o := options{url: srv.URL, buyers: 3, duration: 20 * time.Second, loops: 40, command: "loadgen -scenario purchase"}
	r, err := runPurchase(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	// 40 loops: tickets t1..t40; 10 not orderable, 10 orders not payable.
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"purchases", r.loops, 20},
		{"failed loops", r.failed, 20},
		{"failed at POST /api/orders", r.failedAt[epOrder], 10},
		{"failed at POST /api/payments", r.failedAt[epPay], 10},
		{"POST /api/tickets latencies", len(r.latency[epList]), 40},
		{"POST /api/orders latencies (2xx only)", len(r.latency[epOrder]), 30},
		{"POST /api/payments latencies (2xx only)", len(r.latency[epPay]), 20},
		{"listed -> ordered", len(r.ordered), 30},
		{"listed -> paid", len(r.paid), 20},
		{"POST /api/orders 404", r.errors["POST /api/orders 404"], 10},
		{"POST /api/payments 503", r.errors["POST /api/payments 503"], 10},
		{"kinds of error", len(r.errors), 2},
		{"POST /api/orders answered 201", r.answers[epOrder][201], 30},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
		}
	}
	for i, paid := range r.paid {
		if paid <= 0 || paid < r.latency[epPay].Pct(0) {
			t.Errorf("listed -> paid %d: %s, shorter than a payment", i, paid)
		}
	}

	report := r.markdown(o)
	for _, want := range []string{
		"| purchases (listed, ordered and paid: three 201s) | 20 in ",
		"| failed loops | **20** (10 at POST /api/orders, 10 at POST /api/payments) |",
		"| `POST /api/orders` | 30 | ",
		"| 201: 30, 404: 10 |",
		"| **listed -> paid** (start of the listing to the payment's 201) | 20 | ",
		"- POST /api/payments 503: 10\n",
		"| loadgen (this process) | load |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "done directly") {
		t.Errorf("a report without a baseline shows one:\n%s", report)
	}
	o.baseline = true // asked for, but stopped before it ran
	if report := r.markdown(o); !strings.Contains(report, "Baseline not measured: the run was stopped first.") {
		t.Errorf("a stopped run's report does not say why it has no baseline:\n%s", report)
	}
}

func TestPurchaseStopsOnTime(t *testing.T) {
	srv := httptest.NewServer(&origin{t: t, tickets: map[string]string{}, orders: map[string]string{}})
	defer srv.Close()
	start := time.Now()
	r, err := runPurchase(t.Context(), options{url: srv.URL, buyers: 2, duration: 300 * time.Millisecond, rate: 50})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a 300 ms run took %s", took)
	}
	// Paced at 50 loops/s for 0.3 s: about 15 loops, never hundreds.
	if n := r.loops + r.failed; n == 0 || n > 25 {
		t.Errorf("%d loops in 300 ms at 50/s", n)
	}
}

func TestPurchaseReportComparesTheBaseline(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		out := make([]time.Duration, len(n))
		for i, v := range n {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	r := newPurchaseResult(2)
	r.elapsed, r.loops = 2*time.Second, 200
	r.latency[epOrder] = ms(20, 40)
	r.paid = ms(100, 300)
	r.memory = memorySample{
		AppsAndSidecarsPSS: 300, AppsPSS: 60, SidecarsPSS: 240,
		PerProcess: map[string]float64{"orders": 20, "daprd-orders": 90, "nats-server": 30},
		PSS:        map[string]float64{"orders": 12, "daprd-orders": 40},
		CPU:        map[string]float64{"orders": 3, "daprd-orders": 4, "nats-server": 1},
		Window:     2 * time.Second,
	}
	r.selfCPU = 2
	r.baseline = &baseline.PurchaseResult{Loops: 400, Elapsed: 2 * time.Second, Order: ms(10, 20), Paid: ms(25, 50)}
	r.baselineCPU = 4
	report := r.markdown(options{buyers: 2, baselineDuration: 2 * time.Second, baseline: true, stripeURL: "http://127.0.0.1:12111"})
	for _, want := range []string{
		"| purchases per second | 100.0 | 200.0 | 2.0× |",
		"| `POST /api/orders` p50 / p90 / p99 / max | 20.0 ms / 40.0 ms / 40.0 ms / 40.0 ms | 10.0 ms / 20.0 ms / 20.0 ms / 20.0 ms | p50 2.0×, p99 2.0× |",
		"| listed -> paid p50 / p90 / p99 / max | 100.0 ms / 300.0 ms / 300.0 ms / 300.0 ms | 25.0 ms / 50.0 ms / 50.0 ms / 50.0 ms | p50 4.0×, p99 6.0× |",
		// mesh: (3 + 4 + 1 + 2) s / 200 purchases; direct: 4 s / 400
		"| 50.0 | 10.0 | 5.0× |",
		"**apps + sidecars 300 MiB**; apps 60 MiB, sidecars 240 MiB",
		"| orders | app | 3.0 | 1.50 | 12 | 20 |",
		"| daprd-orders | sidecar | 4.0 | 2.00 | 40 | 90 |",
		"| nats-server | infrastructure | 1.0 | 0.50 | - | 30 |",
		"| all | | 10.0 | 5.00 | | |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
}
