package check

import (
	"strings"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// healthy is a consistent world: t1 paid (o1 complete), t2 expired and
// released (o2 cancelled), t3 held by an unpaid order not yet due (o3), t4
// never ordered; every event handled once by each subscriber.
func healthy() (*Snapshot, *crowd.Ledger) {
	l := &crowd.Ledger{
		Tickets: []string{"t1", "t2", "t3", "t4"},
		Orders: []*crowd.Order{
			{ID: "o1", TicketID: "t1", Paid: true, PaymentID: "p1", PayStatuses: []int{201}, ExpiresAt: t0.Add(-time.Minute)},
			{ID: "o2", TicketID: "t2", ExpiresAt: t0.Add(-time.Minute)},
			{ID: "o3", TicketID: "t3", ExpiresAt: t0.Add(time.Minute)},
		},
	}
	s := &Snapshot{
		At: t0,
		Orders: map[string]OrderView{
			"o1": priced(order("o1", "t1", "complete", t0.Add(-time.Minute)), 20.5, 1),
			"o2": order("o2", "t2", "cancelled", t0.Add(-time.Minute)),
			"o3": order("o3", "t3", "created", t0.Add(time.Minute)),
		},
		Tickets: map[string]TicketView{
			"t1": {ID: "t1", OrderID: "o1", Price: 20.5, Version: 1}, "t2": {ID: "t2"}, "t3": {ID: "t3", OrderID: "o3"}, "t4": {ID: "t4"},
		},
		Payments: map[string]PaymentView{
			"o1": {PaymentStatus: "succeeded", StripeID: "pi_1", Amount: 2050},
			"o2": {PaymentStatus: "abandoned"},
		},
		Charges: []Charge{{OrderID: "o1", IntentID: "pi_1", Amount: 2050},
			{OrderID: "someone-elses", IntentID: "pi_9", Amount: 100}, // another client of the mesh
			{OrderID: "someone-elses", IntentID: "pi_9", Amount: 100, Refund: true}},
		Deliveries: &Deliveries{
			Published:   map[string][]string{"order:created": {"e1", "e2"}},
			Subscribers: map[string][]string{"order:created": {"tickets", "payments"}},
			Handled: map[string]map[string]map[string]int{
				"tickets":  {"order:created": {"e1": 1, "e2": 2}},
				"payments": {"order:created": {"e1": 1, "e2": 1}},
			},
		},
	}
	return s, l
}

func priced(o OrderView, price float64, version int64) OrderView {
	o.Ticket.Price, o.Ticket.Version = price, version
	return o
}

func order(id, ticket, status string, expires time.Time) OrderView {
	o := OrderView{ID: id, Status: status, ExpiresAt: expires}
	o.Ticket.ID = ticket
	return o
}

var bounds = Bounds{Expiry: 30 * time.Second}

func TestHealthyWorldPasses(t *testing.T) {
	s, l := healthy()
	rs := Evaluate(s, l, bounds)
	if len(rs) != 12 {
		t.Errorf("%d invariants evaluated, want 12", len(rs))
	}
	for _, r := range rs {
		if !r.Pass {
			t.Errorf("%s: %v", r.Name, r.Violations)
		}
		if r.Checked == 0 && !strings.Contains(r.Name, "refund") {
			t.Errorf("%s checked nothing", r.Name)
		}
	}
	if got := rs[9].Note; got != "0 refunds" {
		t.Errorf("note %q: another client's refund is not the crowd's", got)
	}
	if got := rs[len(rs)-1].Note; got != "1 duplicate deliveries handled" {
		t.Errorf("note %q: the redelivered e2 should count as one duplicate", got)
	}
}

// Each invariant fails on the fault it is there to catch, and only there.
func TestEachInvariantCanFail(t *testing.T) {
	cases := []struct {
		fails  string // a word of the failing invariant's name
		doctor func(*Snapshot, *crowd.Ledger)
	}{
		{"answered 201 exists", func(s *Snapshot, l *crowd.Ledger) {
			l.Orders = append(l.Orders, &crowd.Order{ID: "lost", TicketID: "t4"})
		}},
		{"two live orders", func(s *Snapshot, l *crowd.Ledger) {
			s.Orders["o9"] = order("o9", "t3", "created", t0.Add(time.Minute))
		}},
		{"cancelled within", func(s *Snapshot, l *crowd.Ledger) {
			o := s.Orders["o3"]
			o.ExpiresAt = t0.Add(-time.Minute)
			s.Orders["o3"] = o
		}},
		{"reservations match", func(s *Snapshot, l *crowd.Ledger) {
			s.Tickets["t4"] = TicketView{ID: "t4", OrderID: "o3"}
		}},
		{"payment answered 201 completed", func(s *Snapshot, l *crowd.Ledger) {
			l.Orders[2].Paid = true
		}},
		{"payments agree", func(s *Snapshot, l *crowd.Ledger) {
			s.Payments["o3"] = PaymentView{PaymentStatus: "succeeded"}
		}},
		{"both complete and cancelled", func(s *Snapshot, l *crowd.Ledger) {
			l.Orders[0].Cancelled = true
		}},
		{"charged twice", func(s *Snapshot, l *crowd.Ledger) {
			s.Charges = append(s.Charges, Charge{OrderID: "o1", IntentID: "pi_2", Amount: 2050})
		}},
		{"belongs to exactly one complete", func(s *Snapshot, l *crowd.Ledger) {
			s.Charges = append(s.Charges, Charge{OrderID: "o3", IntentID: "pi_3", Amount: 100})
		}},
		{"belongs to exactly one complete", func(s *Snapshot, l *crowd.Ledger) {
			s.Charges = append(s.Charges, Charge{OrderID: "o1", IntentID: "pi_1", Amount: 2050, Refund: true})
		}},
		{"no refund", func(s *Snapshot, l *crowd.Ledger) {
			s.Charges = append(s.Charges, Charge{OrderID: "o2", IntentID: "pi_4", Amount: 100}, Charge{OrderID: "o2", IntentID: "pi_4", Amount: 100, Refund: true})
		}},
		{"price", func(s *Snapshot, l *crowd.Ledger) {
			t := s.Tickets["t1"]
			t.Price = 99
			s.Tickets["t1"] = t
		}},
		{"no event lost", func(s *Snapshot, l *crowd.Ledger) {
			delete(s.Deliveries.Handled["payments"]["order:created"], "e2")
		}},
	}
	for _, c := range cases {
		t.Run(c.fails, func(t *testing.T) {
			s, l := healthy()
			c.doctor(s, l)
			var failed []string
			for _, r := range Evaluate(s, l, bounds) {
				if !r.Pass {
					failed = append(failed, r.Name)
					if len(r.Violations) == 0 {
						t.Errorf("%s failed without saying why", r.Name)
					}
				}
			}
			if len(failed) == 0 || !strings.Contains(failed[0], c.fails) {
				t.Fatalf("failed: %q, want the invariant about %q first", failed, c.fails)
			}
		})
	}
}
