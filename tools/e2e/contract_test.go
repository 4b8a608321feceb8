package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// The contract with the original's clients, held from outside (issue 18):
// each test is what a real buyer, seller or client does on day one.

// The original's "new ticket" form formats the price on blur and posts it as
// text; its validator took any numeric string, and stored a number.
func TestAPriceAsTheOriginalsClientSendsIt(t *testing.T) {
	seller, buyer := signedUp(t), signedUp(t)
	var tk map[string]any
	seller.do("POST", "/api/tickets", map[string]any{"title": "Form concert", "price": "20.00"}).want(t, 201).json(t, &tk)
	if price, ok := tk["price"].(float64); !ok || price != 20 {
		t.Fatalf("price answered as %#v, want the number 20", tk["price"])
	}
	msgs := seller.do("POST", "/api/tickets", map[string]any{"title": "Form concert", "price": "abc"}).want(t, 400).errorMessages(t)
	if msgs["price"] != "Price must be greater than 0" {
		t.Errorf(`price "abc": %v, want the original's message on price`, msgs)
	}
	var o order
	buyer.do("POST", "/api/orders", map[string]string{"ticketId": tk["id"].(string)}).want(t, 201).json(t, &o)
	if o.Ticket.Price != 20 {
		t.Errorf("order's price %v, want 20", o.Ticket.Price)
	}
	buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).want(t, 201)
	if got := paidAmount(o.ID); got != 2000 {
		t.Errorf("charged %d cents, want 2000", got)
	}
}

// paidAmount is what Stripe took for an order, in cents.
func paidAmount(orderID string) int64 {
	var n int64
	for _, in := range the.StripeIntents() {
		if in.OrderID == orderID && in.Status == "succeeded" {
			n += in.Amount
		}
	}
	return n
}

// refunds counts the refunds made for an order.
func refunds(orderID string) int {
	n := 0
	for _, c := range the.StripeCalls() {
		if c.OrderID == orderID && c.Outcome == "refunded" && !c.Replayed {
			n++
		}
	}
	return n
}

// Once orders answered 204 to a cancel, no payment for the order reaches
// Stripe: 50 buyers cancel, then pay at once.
func TestCancelThenPayAtOnceIsNeverCharged(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			buyer, o := placedOrder(t, float64(10+i))
			buyer.do("DELETE", "/api/orders/"+o.ID, nil).want(t, 204)
			msgs := buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).want(t, 400).errorMessages(t)
			if msgs[""] != "Cannot pay for an cancelled order" {
				t.Errorf("order %s: %v", o.ID, msgs)
			}
			if n := stripeCalls(o.ID); n != 0 {
				t.Errorf("order %s: %d requests reached Stripe", o.ID, n)
			}
		})
	}
	wg.Wait()
}

// A payment and a cancel that cross end one way: the order is complete and
// charged once, or cancelled and never charged; no refund either way.
func TestPayAndCancelAtOnceEndOneWay(t *testing.T) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i := range 50 {
		wg.Go(func() {
			buyer, o := placedOrder(t, float64(10+i))
			var pay, cancel int
			var both sync.WaitGroup
			both.Go(func() {
				pay = buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).status
			})
			both.Go(func() { cancel = buyer.do("DELETE", "/api/orders/"+o.ID, nil).status })
			both.Wait()
			var got order
			buyer.do("GET", "/api/orders/"+o.ID, nil).want(t, 200).json(t, &got)
			switch {
			case pay == 201 && cancel == 400 && got.Status == "complete" && charges(o.ID) == 1:
			case cancel == 204 && pay == 400 && got.Status == "cancelled" && charges(o.ID) == 0:
			default:
				t.Errorf("order %s: payment %d, cancel %d, status %s, %d charges", o.ID, pay, cancel, got.Status, charges(o.ID))
			}
			if n := refunds(o.ID); n != 0 {
				t.Errorf("order %s: %d refunds", o.ID, n)
			}
			mu.Lock()
			outcomes[got.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("outcomes: %v", outcomes)
}

// An edit its seller saw succeed shows in an order placed after it, and in
// what the buyer is charged.
func TestAnEditTheSellerSawShowsInTheOrder(t *testing.T) {
	seller, buyer := signedUp(t), signedUp(t)
	tk := listTicket(t, seller, "Matinee", 20)
	seller.do("PUT", "/api/tickets/"+tk.ID, map[string]any{"title": "Evening show", "price": 35}).want(t, 200)
	var o order
	buyer.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201).json(t, &o)
	if o.Ticket.Title != "Evening show" || o.Ticket.Price != 35 || o.Ticket.Version != 2 {
		t.Errorf("order's ticket %+v, want the edit, at the reserved version 2", o.Ticket)
	}
	var again order
	buyer.do("GET", "/api/orders/"+o.ID, nil).want(t, 200).json(t, &again)
	if again.Ticket != o.Ticket {
		t.Errorf("GET shows %+v, want %+v", again.Ticket, o.Ticket)
	}
	buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).want(t, 201)
	if got := paidAmount(o.ID); got != 3500 {
		t.Errorf("charged %d cents, want 3500", got)
	}
}

// Edits and orders on the same tickets at once: every order, its charge and
// the ticket version tickets reserved for it agree on one price.
func TestEditsAndOrdersRaceToOnePrice(t *testing.T) {
	type race struct {
		seller *user
		tk     ticket
		buyer  *user
		o      order
		ok     bool
	}
	races := make([]*race, 30)
	for i := range races {
		seller := signedUp(t)
		races[i] = &race{seller: seller, tk: listTicket(t, seller, fmt.Sprintf("Race %d", i), 10), buyer: signedUp(t)}
	}
	var wg sync.WaitGroup
	for i, r := range races {
		for e := range 3 {
			wg.Go(func() {
				r.seller.do("PUT", "/api/tickets/"+r.tk.ID, map[string]any{"title": r.tk.Title, "price": float64(11 + i + e)})
			})
		}
		wg.Go(func() {
			resp := r.buyer.do("POST", "/api/orders", map[string]string{"ticketId": r.tk.ID})
			if resp.status == 201 {
				resp.json(t, &r.o)
				r.ok = true
			}
		})
	}
	wg.Wait()
	for _, r := range races {
		if !r.ok {
			t.Errorf("ticket %s: the order was refused", r.tk.ID)
			continue
		}
		r.buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": r.o.ID}).want(t, 201)
		var o order
		r.buyer.do("GET", "/api/orders/"+r.o.ID, nil).want(t, 200).json(t, &o)
		held := getTicket(t, r.seller, r.tk.ID)
		charged := paidAmount(o.ID)
		if held.OrderID != o.ID || o.Ticket.Price != held.Price || o.Ticket.Version != held.Version ||
			charged != int64(math.Round(o.Ticket.Price*100)) || r.o.Ticket.Price != o.Ticket.Price {
			t.Errorf("ticket %s: order answered %v, now %v at v%d; ticket %v at v%d held by %s; charged %d cents",
				r.tk.ID, r.o.Ticket.Price, o.Ticket.Price, o.Ticket.Version, held.Price, held.Version, held.OrderID, charged)
		}
	}
}

// A client that reads only the first answer of GET /api/tickets (the
// original's) sees a ticket just listed, however many are for sale.
func TestANewListingShowsWithoutPaging(t *testing.T) {
	seller := signedUp(t)
	for i := range 60 {
		listTicket(t, seller, fmt.Sprintf("Older %d", i), 5)
	}
	fresh := listTicket(t, seller, "Just listed", 7)
	var first []ticket
	newUser(t).do("GET", "/api/tickets", nil).want(t, 200).json(t, &first)
	if len(first) == 0 || first[0].ID != fresh.ID {
		t.Errorf("first of %d tickets is %+v, want the one just listed", len(first), first[0])
	}
}

// hostile values: what a client may send that no field can hold.
var hostile = []string{
	"\x00", "a\x00b", "\xff\xfe", "\xc3\x28", "\x07bell", "tab\there", "line\nbreak", "\x1b[31m",
	strings.Repeat("x", 5000), strings.Repeat("é", 1200), "%00", "%FF%FE", "../../etc/passwd", "<script>",
	"' OR 1=1 --", "{\"$ne\":\"\"}", "\u202e", "\ufffd",
}

// hostileJSON are values of the wrong kind, or of hostile size.
var hostileJSON = []string{
	`null`, `true`, `[]`, `{}`, `{"$ne":""}`, `1e400`, `-1e400`, `-0`, `99999999999999999999999`,
	`"` + strings.Repeat("9", 400) + `"`, `0.000000001`, `"NaN"`, `"Infinity"`, `[` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `]`,
}

// Hostile bytes are a client error: a seeded, bounded walk over every route
// of the public origin with hostile ids, queries and bodies answers no 5xx,
// and stores no hostile title.
func TestHostileInputIsAClientErrorEverywhere(t *testing.T) {
	seed := uint64(20261207)
	rng := rand.New(rand.NewPCG(seed, seed))
	u := signedUp(t)
	seller := signedUp(t)
	tk := listTicket(t, seller, "Target", 10)
	routes := []struct{ method, path string }{
		{"POST", "/api/users/signup"}, {"POST", "/api/users/signin"}, {"POST", "/api/users/signout"}, {"GET", "/api/users/currentuser"},
		{"GET", "/api/tickets"}, {"POST", "/api/tickets"}, {"GET", "/api/tickets/{id}"}, {"PUT", "/api/tickets/{id}"},
		{"GET", "/api/orders"}, {"POST", "/api/orders"}, {"GET", "/api/orders/{id}"}, {"DELETE", "/api/orders/{id}"},
		{"POST", "/api/payments"}, {"POST", "/api/payments/webhook"},
		{"GET", "/"}, {"GET", "/tickets/{id}"}, {"GET", "/orders/{id}"},
	}
	fields := []string{"email", "password", "title", "price", "ticketId", "orderId", "token"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	value := func() string { // a JSON value
		if rng.IntN(2) == 0 {
			b, _ := json.Marshal(pick(hostile))
			if !utf8.ValidString(pick(hostile)) || rng.IntN(4) == 0 {
				return `"` + pick(hostile) + `"` // raw bytes, not escaped
			}
			return string(b)
		}
		return pick(hostileJSON)
	}
	const requests = 400
	for i := range requests {
		rt := routes[rng.IntN(len(routes))]
		path := strings.ReplaceAll(rt.path, "{id}", url.PathEscape(pick(hostile)))
		if rng.IntN(3) == 0 {
			path = strings.ReplaceAll(rt.path, "{id}", pick([]string{"%00", "%FF%FE", "a%0Ab", strings.Repeat("z", 300), tk.ID}))
		}
		if rng.IntN(3) == 0 {
			path += "?" + pick([]string{"limit", "page", "x"}) + "=" + pick([]string{"%00", "%FF", "-1", "1e400", strings.Repeat("9", 2000), "%zz", "a%0Ab"})
		}
		var body bytes.Buffer
		body.WriteString("{")
		for j, f := range fields {
			if rng.IntN(2) == 0 {
				continue
			}
			if body.Len() > 1 {
				body.WriteString(",")
			}
			fmt.Fprintf(&body, "%q:%s", f, value())
			_ = j
		}
		body.WriteString("}")
		req, err := http.NewRequest(rt.method, baseURL+path, bytes.NewReader(body.Bytes()))
		if err != nil {
			continue // a URL Go itself will not send
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := u.http.Do(req)
		if err != nil {
			t.Fatalf("request %d %s %q: %v", i, rt.method, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("request %d (seed %d): %s %q %s answered %d: %s", i, seed, rt.method, path, body.String(), resp.StatusCode, b)
		}
	}
	// Nothing hostile was stored: the newest listings hold plain titles.
	var listed []ticket
	newUser(t).do("GET", "/api/tickets?limit=200", nil).want(t, 200).json(t, &listed)
	for _, l := range listed {
		if !plain(l.Title) {
			t.Errorf("a hostile title was stored: %q", l.Title)
		}
	}
}

func plain(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
