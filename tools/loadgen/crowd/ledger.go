package crowd

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is one exchange with the public origin.
type Request struct {
	At       time.Time // when it was sent
	Endpoint string    // method and route template: "POST /api/orders"
	Status   int       // 0: no answer (Err says why)
	Latency  time.Duration
	Err      string
}

// Order is an order the crowd placed (answered 201), and what it did with it.
type Order struct {
	ID        string
	TicketID  string
	Buyer     int // index into Ledger.Buyers
	Hot       bool
	CreatedAt time.Time // when the 201 arrived
	ExpiresAt time.Time
	// Paid: the payment was answered 201 (PaymentID); PayStatuses are the
	// answers to every payment attempt.
	Paid        bool
	PaymentID   string
	PayStatuses []int
	// Cancelled: the buyer cancelled it (answered 2xx).
	Cancelled bool
}

// HotRound is one ticket raced for by many buyers at once.
type HotRound struct {
	TicketID string
	Statuses map[int]int // answers to POST /api/orders, by status (0: no answer)
}

// Ledger is everything the crowd did and saw, for the report and the checker.
type Ledger struct {
	mu        sync.Mutex
	Sellers   []*Shopper
	Buyers    []*Shopper // every buyer, racers included
	Tickets   []string   // every ticket listed
	Orders    []*Order
	HotRounds []HotRound
	Requests  []Request
	// Reserved: order 201 -> the ticket shows the order (sampled).
	Reserved Series
	// Completed: payment 201 -> the order shows complete (sampled).
	Completed Series
	// Unseen counts sampled propagations never seen within the watch limit.
	Unseen int
	// Connected: the sellers (by user id) who connected a payout account,
	// and when their onboarding was done.
	Connected map[string]time.Time
	Start     time.Time // the load phase
	End       time.Time
}

// HasConnected says whether the seller connected a payout account.
func (l *Ledger) HasConnected(sellerID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.Connected[sellerID]
	return ok
}

func (l *Ledger) connected(sellerID string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Connected == nil {
		l.Connected = map[string]time.Time{}
	}
	l.Connected[sellerID] = at
}

func (l *Ledger) request(r Request) {
	l.mu.Lock()
	l.Requests = append(l.Requests, r)
	l.mu.Unlock()
}

func (l *Ledger) order(o *Order) {
	l.mu.Lock()
	l.Orders = append(l.Orders, o)
	l.mu.Unlock()
}

func (l *Ledger) update(f func()) {
	l.mu.Lock()
	f()
	l.mu.Unlock()
}

// Latencies returns the latencies of the answered requests to one endpoint
// within the load phase, and their count by status.
func (l *Ledger) Latencies(endpoint string) (Series, map[int]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s Series
	by := map[int]int{}
	for _, r := range l.Requests {
		if r.Endpoint != endpoint {
			continue
		}
		by[r.Status]++
		if r.Status != 0 {
			s = append(s, r.Latency)
		}
	}
	return s, by
}

// Endpoints lists the endpoints requested, sorted.
func (l *Ledger) Endpoints() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	for _, r := range l.Requests {
		seen[r.Endpoint] = true
	}
	out := make([]string, 0, len(seen))
	for e := range seen {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// Errors counts the failed requests by kind: "POST /api/orders 503",
// "POST /api/orders: connection refused". Expected refusals (a lost race's
// 400, a second payment's 400) are not errors.
func (l *Ledger) Errors() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, r := range l.Requests {
		switch {
		case r.Status == 0:
			out[r.Endpoint+": "+r.Err]++
		case r.Status >= 500, r.Status == 401, r.Status == 404, r.Status == 409, r.Status == 429:
			out[r.Endpoint+" "+strconv.Itoa(r.Status)]++
		case r.Status == 400 && r.Endpoint != "POST /api/orders":
			out[r.Endpoint+" 400"]++
		}
	}
	return out
}

// Count returns how many orders were placed and paid, in the load phase.
func (l *Ledger) Count() (placed, paid int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, o := range l.Orders {
		placed++
		if o.Paid {
			paid++
		}
	}
	return placed, paid
}

// Answers renders answers counted by status ("201: 70, 400: 30"), status 0
// as "no answer".
func Answers(by map[int]int) string {
	keys := make([]int, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := strconv.Itoa(k)
		if k == 0 {
			name = "no answer"
		}
		parts[i] = name + ": " + strconv.Itoa(by[k])
	}
	return strings.Join(parts, ", ")
}
