package check

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/tixmesh/ticketing/tools/loadgen/crowd"
)

// Result is one invariant's verdict.
type Result struct {
	Name       string
	Pass       bool
	Checked    int      // how many things it looked at
	Violations []string // the first few, for the report
	Count      int      // how many violations in all
	Note       string   // what else was counted (duplicates, say)
}

// Bounds are the time limits the system promises.
type Bounds struct {
	// Expiry: an unpaid order is cancelled at most this long after its deadline.
	Expiry time.Duration
	// FeeBasisPoints is the platform's fee on each payment (payments'
	// PLATFORM_FEE_PERCENT x 100; DefaultFeeBasisPoints is its default).
	FeeBasisPoints int64
}

// DefaultFeeBasisPoints is payments' default fee, 10 percent.
const DefaultFeeBasisPoints = 1000

// feeOf is payments' fee on amount cents: rounded half up to the cent.
func feeOf(amount, basisPoints int64) int64 {
	return min(max((amount*basisPoints+5000)/10000, 0), amount)
}

// live statuses hold their ticket.
func live(status string) bool {
	return status == "created" || status == "awaiting:payment" || status == "complete"
}

type verdict struct {
	r *Result
}

func newVerdict(name string) verdict { return verdict{&Result{Name: name}} }

func (v verdict) checked(n int) { v.r.Checked += n }

func (v verdict) fail(format string, args ...any) {
	v.r.Count++
	if len(v.r.Violations) < 10 {
		v.r.Violations = append(v.r.Violations, fmt.Sprintf(format, args...))
	}
}

func (v verdict) done() Result {
	v.r.Pass = v.r.Count == 0
	return *v.r
}

// Evaluate judges a snapshot against what the crowd did. Invariants whose
// source was not read (payments, Stripe, deliveries) are left out.
func Evaluate(s *Snapshot, l *crowd.Ledger, b Bounds) []Result {
	out := []Result{
		acknowledgedOrdersExist(s, l),
		noTicketHeldTwice(s),
		expiredOrdersReleased(s, l, b),
		ticketsAgreeWithOrders(s, l),
		paidOrdersComplete(s, l),
	}
	if s.Payments != nil {
		out = append(out, paymentsAgreeWithOrders(s), neverCompleteAndCancelled(s, l))
	}
	if s.Charges != nil {
		out = append(out, noDoubleCharge(s, l), chargesBelongToCompleteOrders(s), completeOrdersHaveASucceededIntent(s))
		if s.Payments != nil {
			out = append(out, sellersPaidTheirShare(s, l, b), noTransferForARefund(s))
		}
		out = append(out, noRefundForTheCrowd(s), pricesAgree(s))
	}
	if s.Deliveries != nil {
		out = append(out, noEventLost(s.Deliveries))
	}
	return out
}

// Passed reports whether every result passed.
func Passed(rs []Result) bool {
	for _, r := range rs {
		if !r.Pass {
			return false
		}
	}
	return true
}

// acknowledgedOrdersExist: every order answered 201 is kept (an acknowledged
// write is never lost).
func acknowledgedOrdersExist(s *Snapshot, l *crowd.Ledger) Result {
	v := newVerdict("every order answered 201 exists in orders")
	for _, o := range l.Orders {
		v.checked(1)
		if _, ok := s.Orders[o.ID]; !ok {
			v.fail("order %s (ticket %s, placed %s) is missing", o.ID, o.TicketID, o.CreatedAt.Format(time.RFC3339Nano))
		}
	}
	return v.done()
}

// noTicketHeldTwice: at most one live order per ticket.
func noTicketHeldTwice(s *Snapshot) Result {
	v := newVerdict("no ticket held by two live orders")
	byTicket := map[string][]string{}
	for _, o := range s.Orders {
		if live(o.Status) {
			byTicket[o.Ticket.ID] = append(byTicket[o.Ticket.ID], o.ID+" ("+o.Status+")")
		}
	}
	for _, t := range sortedKeys(byTicket) {
		v.checked(1)
		if hs := byTicket[t]; len(hs) > 1 {
			sort.Strings(hs)
			v.fail("ticket %s held by %v", t, hs)
		}
	}
	return v.done()
}

// expiredOrdersReleased: an unpaid order past its deadline (plus the bound)
// is cancelled, and its ticket no longer carries it.
func expiredOrdersReleased(s *Snapshot, l *crowd.Ledger, b Bounds) Result {
	v := newVerdict(fmt.Sprintf("every unpaid order is cancelled within %s of its deadline, its ticket released", b.Expiry))
	for _, o := range sortedOrders(s.Orders) {
		if o.Status == "complete" || s.At.Before(o.ExpiresAt.Add(b.Expiry)) {
			continue
		}
		v.checked(1)
		if o.Status != "cancelled" {
			v.fail("order %s is %s %.1f s after its deadline", o.ID, o.Status, s.At.Sub(o.ExpiresAt).Seconds())
		}
		if t, ok := s.Tickets[o.Ticket.ID]; ok && t.OrderID == o.ID {
			v.fail("ticket %s still carries expired order %s", t.ID, o.ID)
		}
	}
	return v.done()
}

// ticketsAgreeWithOrders: each listed ticket's reservation in tickets is the
// order that holds it in orders (or none).
func ticketsAgreeWithOrders(s *Snapshot, l *crowd.Ledger) Result {
	v := newVerdict("tickets' reservations match orders")
	holder := map[string]string{}
	for _, o := range s.Orders {
		if live(o.Status) {
			holder[o.Ticket.ID] = o.ID
		}
	}
	for _, id := range l.Tickets {
		v.checked(1)
		t, ok := s.Tickets[id]
		switch {
		case !ok:
			v.fail("ticket %s is missing from tickets", id)
		case t.OrderID != holder[id]:
			v.fail("ticket %s: tickets says order %q, orders says %q", id, t.OrderID, holder[id])
		}
	}
	return v.done()
}

// paidOrdersComplete: a payment answered 201 completed its order.
func paidOrdersComplete(s *Snapshot, l *crowd.Ledger) Result {
	v := newVerdict("every payment answered 201 completed its order")
	for _, o := range l.Orders {
		if !o.Paid {
			continue
		}
		v.checked(1)
		if got := s.Orders[o.ID].Status; got != "complete" {
			v.fail("order %s was paid (payment %s) but is %q", o.ID, o.PaymentID, got)
		}
	}
	return v.done()
}

// paymentsAgreeWithOrders: an order is complete exactly when payments holds
// a succeeded payment for it, and no order awaits a payment that ended.
func paymentsAgreeWithOrders(s *Snapshot) Result {
	v := newVerdict("payments agree with orders: complete exactly when paid")
	for _, o := range sortedOrders(s.Orders) {
		v.checked(1)
		p := s.Payments[o.ID]
		paid := p.PaymentStatus == "succeeded"
		switch {
		case o.Status == "complete" && !paid:
			v.fail("order %s is complete, payments holds %q", o.ID, p.PaymentStatus)
		case o.Status != "complete" && paid:
			v.fail("order %s is %q, payments holds a succeeded payment", o.ID, o.Status)
		case o.Status == "awaiting:payment" && (p.PaymentStatus == "" || p.PaymentStatus == "abandoned" || p.PaymentStatus == "refunded"):
			v.fail("order %s awaits a payment payments holds as %q", o.ID, p.PaymentStatus)
		}
	}
	return v.done()
}

// neverCompleteAndCancelled: no service shows an order complete while
// another (or the buyer's own cancellation) shows it cancelled.
func neverCompleteAndCancelled(s *Snapshot, l *crowd.Ledger) Result {
	v := newVerdict("no order both complete and cancelled")
	cancelledByBuyer := map[string]bool{}
	for _, o := range l.Orders {
		if o.Cancelled {
			cancelledByBuyer[o.ID] = true
		}
	}
	for _, o := range sortedOrders(s.Orders) {
		v.checked(1)
		p := s.Payments[o.ID]
		seen := map[string]bool{o.Status: true}
		if p.PaymentStatus == "succeeded" {
			seen["complete"] = true
		}
		if cancelledByBuyer[o.ID] {
			seen["cancelled"] = true
		}
		if seen["complete"] && seen["cancelled"] {
			v.fail("order %s: orders %q, payment %q, cancelled by its buyer: %v", o.ID, o.Status, p.PaymentStatus, cancelledByBuyer[o.ID])
		}
	}
	return v.done()
}

// noDoubleCharge: Stripe took money at most once per order (one
// PaymentIntent succeeded), and no order was paid twice.
func noDoubleCharge(s *Snapshot, l *crowd.Ledger) Result {
	v := newVerdict("no order charged twice")
	intents := map[string]map[string]bool{}
	for _, c := range s.Charges {
		if c.OrderID == "" || c.Refund {
			continue
		}
		if intents[c.OrderID] == nil {
			intents[c.OrderID] = map[string]bool{}
		}
		intents[c.OrderID][c.IntentID] = true
	}
	for _, id := range sortedKeys(intents) {
		v.checked(1)
		if n := len(intents[id]); n > 1 {
			v.fail("order %s charged %d times (distinct PaymentIntents)", id, n)
		}
	}
	for _, o := range l.Orders {
		wins := 0
		for _, st := range o.PayStatuses {
			if st == 201 {
				wins++
			}
		}
		if wins > 1 {
			v.fail("order %s: %d payments answered 201", o.ID, wins)
		}
	}
	return v.done()
}

// chargesBelongToCompleteOrders: every charge Stripe accepted is the payment
// of one order, and that order is complete, or the charge was refunded (the
// order expired while its payment was in flight).
func chargesBelongToCompleteOrders(s *Snapshot) Result {
	v := newVerdict("every charge Stripe accepted belongs to exactly one complete order, or was refunded")
	refunded := map[string]bool{}
	for _, c := range s.Charges {
		if c.Refund {
			refunded[c.OrderID] = true
		}
	}
	seen := map[string]bool{}
	refunds := 0
	for _, c := range s.Charges {
		if c.Refund || seen[c.OrderID] {
			continue
		}
		seen[c.OrderID] = true
		v.checked(1)
		o, ok := s.Orders[c.OrderID]
		switch {
		case c.OrderID == "":
			v.fail("a charge (intent %s) names no order", c.IntentID)
		case !ok:
			// Not one of the crowd's orders (another client of the same
			// mesh): not this check's to judge.
			v.r.Checked--
			continue
		case o.Status == "complete" && refunded[c.OrderID]:
			v.fail("order %s is complete but its charge was refunded", c.OrderID)
		case o.Status == "complete":
		case refunded[c.OrderID]:
			refunds++
		default:
			v.fail("order %s was charged but is %q, and nothing was refunded", c.OrderID, o.Status)
		}
	}
	v.r.Note = fmt.Sprintf("%d charges of orders cancelled in flight, refunded", refunds)
	return v.done()
}

// noRefundForTheCrowd: payments never took money it had to give back for the
// crowd's own orders. Refunds remain for what only a real Stripe can cause (a
// charge that outlived its settlement), not for a race between the services.
func noRefundForTheCrowd(s *Snapshot) Result {
	v := newVerdict("no refund for the crowd's orders")
	n := 0
	for _, c := range s.Charges {
		if !c.Refund {
			continue
		}
		if _, ours := s.Orders[c.OrderID]; !ours {
			continue
		}
		n++
		v.checked(1)
		v.fail("order %s was refunded (intent %s)", c.OrderID, c.IntentID)
	}
	v.r.Note = fmt.Sprintf("%d refunds", n)
	return v.done()
}

// pricesAgree: every paid order, its charge and the ticket version tickets
// reserved for it (the ticket stays reserved by a paid order) agree on one
// price.
func pricesAgree(s *Snapshot) Result {
	v := newVerdict("each paid order's price equals its charge and its reserved ticket's price")
	charged := map[string]int64{}
	for _, c := range s.Charges {
		if !c.Refund {
			charged[c.OrderID] += c.Amount
		}
	}
	for _, o := range sortedOrders(s.Orders) {
		if o.Status != "complete" {
			continue
		}
		v.checked(1)
		cents := int64(math.Round(o.Ticket.Price * 100))
		t, ok := s.Tickets[o.Ticket.ID]
		switch {
		case charged[o.ID] != cents:
			v.fail("order %s at %.2f was charged %d cents", o.ID, o.Ticket.Price, charged[o.ID])
		case ok && (t.OrderID != o.ID || t.Price != o.Ticket.Price || t.Version != o.Ticket.Version):
			v.fail("order %s at %.2f (v%d): its ticket is %.2f at v%d, held by %q", o.ID, o.Ticket.Price, o.Ticket.Version, t.Price, t.Version, t.OrderID)
		}
	}
	return v.done()
}

// completeOrdersHaveASucceededIntent: no order is complete unless Stripe
// took its money (a PaymentIntent of it succeeded).
func completeOrdersHaveASucceededIntent(s *Snapshot) Result {
	v := newVerdict("no order complete without a succeeded PaymentIntent")
	paid := map[string]bool{}
	for _, c := range s.Charges {
		if !c.Refund {
			paid[c.OrderID] = true
		}
	}
	for _, o := range sortedOrders(s.Orders) {
		if o.Status != "complete" {
			continue
		}
		v.checked(1)
		if !paid[o.ID] {
			v.fail("order %s is complete, but no PaymentIntent of it succeeded", o.ID)
		}
	}
	return v.done()
}

// sellersPaidTheirShare: for every paid order, the platform's fee is exact
// in cents (the payment's and the destination charge's), and its seller got
// exactly the rest, once: with a destination charge, or by one transfer
// after the charge once the seller had connected a payout account. The
// share of a seller who never connected waits (pending), sent nowhere.
// Summed, the transfers equal the seller shares of the complete orders.
func sellersPaidTheirShare(s *Snapshot, l *crowd.Ledger, b Bounds) Result {
	v := newVerdict("each seller got exactly their share of each paid order, once, and the fee is exact to the cent")
	charged, refunded := chargesByOrder(s)
	got, sends := transfersByOrder(s)
	var sumShares, sumGot int64
	for _, o := range sortedOrders(s.Orders) {
		c, ok := charged[o.ID]
		if !ok || refunded[o.ID] || o.Status != "complete" {
			continue // noTransferForARefund and the charge invariants judge those
		}
		v.checked(1)
		p := s.Payments[o.ID]
		fee := feeOf(c.Amount, b.FeeBasisPoints)
		received := got[o.ID]
		if c.Destination != "" {
			received += c.Amount - c.Fee
		}
		want := c.Amount - fee
		if c.Destination == "" && !l.HasConnected(p.SellerID) {
			want = 0 // waits on the platform until the seller connects
		}
		switch {
		case p.Fee != fee || (c.Destination != "" && c.Fee != fee):
			v.fail("order %s: %d cents charged, fee %d (payments) and %d (the charge), want %d", o.ID, c.Amount, p.Fee, c.Fee, fee)
		case sends[o.ID] > 1:
			v.fail("order %s: %d transfers, want at most 1", o.ID, sends[o.ID])
		case received != want:
			v.fail("order %s: seller %s got %d cents of %d (fee %d, destination %q, payout %q), want %d",
				o.ID, p.SellerID, received, c.Amount, fee, c.Destination, p.Transfer, want)
		case want == 0 && p.Transfer != "pending":
			v.fail("order %s: the share of a seller who never connected is %q, want pending", o.ID, p.Transfer)
		}
		sumShares, sumGot = sumShares+want, sumGot+received
	}
	v.r.Note = fmt.Sprintf("sellers got %d cents, their shares of complete orders total %d", sumGot, sumShares)
	return v.done()
}

// noTransferForARefund: a refunded payment leaves its seller nothing: no
// transfer of it stands (it was reversed, or never sent), and a refunded
// destination charge took its transfer back.
func noTransferForARefund(s *Snapshot) Result {
	v := newVerdict("no transfer stands for a refunded payment")
	charged, refunded := chargesByOrder(s)
	got, _ := transfersByOrder(s)
	reversed := map[string]bool{}
	for _, c := range s.Charges {
		if c.Refund && c.ReverseTransfer {
			reversed[c.OrderID] = true
		}
	}
	for _, id := range sortedKeys(refunded) {
		if _, ours := s.Orders[id]; !ours {
			continue
		}
		v.checked(1)
		c := charged[id]
		switch {
		case got[id] != 0:
			v.fail("order %s was refunded, but %d cents sent to its seller stand", id, got[id])
		case c.Destination != "" && !reversed[id]:
			v.fail("order %s: a refunded destination charge whose transfer was not reversed", id)
		}
	}
	for _, id := range sortedKeys(got) {
		if _, paid := charged[id]; !paid && got[id] != 0 {
			if _, ours := s.Orders[id]; ours {
				v.fail("order %s was never charged, but %d cents were sent for it", id, got[id])
			}
		}
	}
	return v.done()
}

// chargesByOrder returns each order's succeeded charge, and which orders were refunded.
func chargesByOrder(s *Snapshot) (map[string]Charge, map[string]bool) {
	charged, refunded := map[string]Charge{}, map[string]bool{}
	for _, c := range s.Charges {
		if c.Refund {
			refunded[c.OrderID] = true
		} else {
			charged[c.OrderID] = c
		}
	}
	return charged, refunded
}

// transfersByOrder returns what each order's transfers left with its seller
// (sent less reversed), and how many were sent.
func transfersByOrder(s *Snapshot) (map[string]int64, map[string]int) {
	got, sends := map[string]int64{}, map[string]int{}
	for _, t := range s.Transfers {
		if t.Reversal {
			got[t.OrderID] -= t.Amount
		} else {
			got[t.OrderID] += t.Amount
			sends[t.OrderID]++
		}
	}
	return got, sends
}

// noEventLost: every event on the stream was handled by every subscriber of
// its topic; deliveries beyond the first are counted (they must be harmless,
// which the other invariants show).
func noEventLost(d *Deliveries) Result {
	v := newVerdict("no event lost: every published event handled by every subscriber")
	dups := 0
	for _, topic := range sortedKeys(d.Published) {
		for _, id := range d.Published[topic] {
			for _, app := range d.Subscribers[topic] {
				v.checked(1)
				n := d.Handled[app][topic][id]
				if n == 0 {
					v.fail("%s never handled %s %s", app, topic, id)
				}
				if n > 1 {
					dups += n - 1
				}
			}
		}
	}
	v.r.Note = fmt.Sprintf("%d duplicate deliveries handled", dups)
	return v.done()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedOrders(m map[string]OrderView) []OrderView {
	out := make([]OrderView, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out
}
