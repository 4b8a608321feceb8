package check

import (
	"strings"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// healthy is a consistent world: t1 paid (o1 complete; its seller s1
// connected later and was sent their share), t5 paid (o5 complete; its
// seller s2 never connected: the share waits), t6 paid with a destination
// charge (o6; seller s3), t2 expired and released (o2 cancelled), t3 held
// by an unpaid order not yet due (o3), t4 never ordered; every event handled
// once by each subscriber.
func healthy() (*Snapshot, *crowd.Ledger) {
	l := &crowd.Ledger{
		Tickets:   []string{"t1", "t2", "t3", "t4", "t5", "t6"},
		Connected: map[string]time.Time{"s1": t0, "s3": t0},
		Orders: []*crowd.Order{
			{ID: "o1", TicketID: "t1", Paid: true, PaymentID: "p1", PayStatuses: []int{201}, ExpiresAt: t0.Add(-time.Minute)},
			{ID: "o5", TicketID: "t5", Paid: true, PaymentID: "p5", PayStatuses: []int{201}, ExpiresAt: t0.Add(-time.Minute)},
			{ID: "o6", TicketID: "t6", Paid: true, PaymentID: "p6", PayStatuses: []int{201}, ExpiresAt: t0.Add(-time.Minute)},
			{ID: "o2", TicketID: "t2", ExpiresAt: t0.Add(-time.Minute)},
			{ID: "o3", TicketID: "t3", ExpiresAt: t0.Add(time.Minute)},
		},
	}
	s := &Snapshot{
		At: t0,
		Orders: map[string]OrderView{
			"o1": priced(order("o1", "t1", "complete", t0.Add(-time.Minute)), 20.5, 1),
			"o5": priced(order("o5", "t5", "complete", t0.Add(-time.Minute)), 33.35, 1),
			"o6": priced(order("o6", "t6", "complete", t0.Add(-time.Minute)), 10, 1),
			"o2": order("o2", "t2", "cancelled", t0.Add(-time.Minute)),
			"o3": order("o3", "t3", "created", t0.Add(time.Minute)),
		},
		Tickets: map[string]TicketView{
			"t1": {ID: "t1", OrderID: "o1", Price: 20.5, Version: 1}, "t2": {ID: "t2"}, "t3": {ID: "t3", OrderID: "o3"}, "t4": {ID: "t4"},
			"t5": {ID: "t5", OrderID: "o5", Price: 33.35, Version: 1}, "t6": {ID: "t6", OrderID: "o6", Price: 10, Version: 1},
		},
		Payments: map[string]PaymentView{
			"o1": {PaymentStatus: "succeeded", StripeID: "pi_1", Amount: 2050, Fee: 205, SellerID: "s1", Transfer: "sent"},
			"o5": {PaymentStatus: "succeeded", StripeID: "pi_5", Amount: 3335, Fee: 334, SellerID: "s2", Transfer: "pending"},
			"o6": {PaymentStatus: "succeeded", StripeID: "pi_6", Amount: 1000, Fee: 100, SellerID: "s3", Transfer: "destination"},
			"o2": {PaymentStatus: "abandoned"},
		},
		Transfers: []Transfer{{OrderID: "o1", Destination: "acct_s1", Amount: 1845}},
		Charges: []Charge{{OrderID: "o1", IntentID: "pi_1", Amount: 2050},
			{OrderID: "o5", IntentID: "pi_5", Amount: 3335},
			{OrderID: "o6", IntentID: "pi_6", Amount: 1000, Destination: "acct_s3", Fee: 100},
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

var bounds = Bounds{Expiry: 30 * time.Second, FeeBasisPoints: DefaultFeeBasisPoints}

func TestHealthyWorldPasses(t *testing.T) {
	s, l := healthy()
	rs := Evaluate(s, l, bounds)
	if len(rs) != 15 {
		t.Errorf("%d invariants evaluated, want 15", len(rs))
	}
	for _, r := range rs {
		if !r.Pass {
			t.Errorf("%s: %v", r.Name, r.Violations)
		}
		if r.Checked == 0 && !strings.Contains(r.Name, "refund") {
			t.Errorf("%s checked nothing", r.Name)
		}
	}
	notes := map[string]string{}
	for _, r := range rs {
		notes[r.Name] = r.Note
	}
	if got := notes["no refund for the crowd's orders"]; got != "0 refunds" {
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
			l.Orders[4].Paid = true // o3
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
		{"without a succeeded PaymentIntent", func(s *Snapshot, l *crowd.Ledger) {
			s.Charges = s.Charges[1:] // o1 complete, nothing taken
			s.Transfers = nil
		}},
		{"their share", func(s *Snapshot, l *crowd.Ledger) { // sent twice
			s.Transfers = append(s.Transfers, Transfer{OrderID: "o1", Destination: "acct_s1", Amount: 1845})
		}},
		{"their share", func(s *Snapshot, l *crowd.Ledger) { // connected, never sent
			s.Transfers = nil
		}},
		{"their share", func(s *Snapshot, l *crowd.Ledger) { // not connected, sent anyway
			s.Transfers = append(s.Transfers, Transfer{OrderID: "o5", Destination: "acct_s2", Amount: 3001})
		}},
		{"their share", func(s *Snapshot, l *crowd.Ledger) { // a fee off by a cent
			p := s.Payments["o5"]
			p.Fee = 333
			s.Payments["o5"] = p
		}},
		{"their share", func(s *Snapshot, l *crowd.Ledger) { // a destination charge's fee off
			s.Charges[2].Fee = 99
		}},
		{"no transfer stands for a refunded", func(s *Snapshot, l *crowd.Ledger) {
			s.Orders["o7"] = order("o7", "t7", "cancelled", t0.Add(-time.Minute))
			s.Charges = append(s.Charges, Charge{OrderID: "o7", IntentID: "pi_7", Amount: 500, Destination: "acct_s3", Fee: 50},
				Charge{OrderID: "o7", IntentID: "pi_7", Amount: 500, Refund: true})
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
