package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type ticket struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	UserID  string  `json:"userId"`
	Version int64   `json:"version"`
	OrderID string  `json:"orderId"`
}

type order struct {
	ID        string    `json:"id"`
	UserID    string    `json:"userId"`
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expiresAt"`
	Version   int64     `json:"version"`
	Ticket    ticket    `json:"ticket"`
}

// the consumers that must have caught up before orders knows a new ticket
var ticketConsumers = []string{"orders-ticket-created", "orders-ticket-updated"}

func ticketIDs(tickets []ticket) []string {
	ids := make([]string, len(tickets))
	for i, tk := range tickets {
		ids[i] = tk.ID
	}
	return ids
}

func listTicket(t testing.TB, seller *user, title string, price float64) ticket {
	t.Helper()
	var tk ticket
	seller.do("POST", "/api/tickets", map[string]any{"title": title, "price": price}).want(t, 201).json(t, &tk)
	return tk
}

// listedAndKnown lists a ticket and waits until orders has its copy.
func listedAndKnown(t testing.TB, seller *user) ticket {
	t.Helper()
	tk := listTicket(t, seller, "Concert "+uniqueEmail("t"), 25.5)
	waitHandled(t, 20*time.Second, "ticket:created", []string{tk.ID}, ticketConsumers...)
	return tk
}

func getTicket(t testing.TB, u *user, id string) ticket {
	t.Helper()
	var tk ticket
	u.do("GET", "/api/tickets/"+id, nil).want(t, 200).json(t, &tk)
	return tk
}

func TestListOrderCancelFlow(t *testing.T) {
	seller, buyer, stranger := signedUp(t), signedUp(t), signedUp(t)
	tk := listTicket(t, seller, "Concert", 25.5)
	if tk.Version != 0 || tk.UserID != seller.id || tk.Title != "Concert" || tk.Price != 25.5 || tk.OrderID != "" {
		t.Fatalf("created ticket %+v", tk)
	}
	waitHandled(t, 20*time.Second, "ticket:created", []string{tk.ID}, ticketConsumers...)

	var o order
	buyer.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201).json(t, &o)
	if o.Status != "created" || o.UserID != buyer.id || o.Ticket.ID != tk.ID || o.Ticket.Price != 25.5 {
		t.Fatalf("order %+v", o)
	}
	if left := time.Until(o.ExpiresAt); left < 2*time.Second || left > 9*time.Second {
		t.Errorf("expiresAt in %v, want about ORDER_EXPIRATION_WINDOW (8s) from now", left)
	}

	// orders reserved the ticket at tickets before it answered 201.
	eventually(t, time.Second, "the ticket to show the order", func() bool {
		return getTicket(t, seller, tk.ID).OrderID == o.ID
	})
	seller.do("PUT", "/api/tickets/"+tk.ID, map[string]any{"title": "Changed", "price": 30}).want(t, 400)
	otherBuyer := signedUp(t)
	if msgs := otherBuyer.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 400).errorMessages(t); msgs[""] != "Ticket is already reserved" {
		t.Errorf("second order: %v", msgs)
	}

	var mine []order
	buyer.do("GET", "/api/orders", nil).want(t, 200).json(t, &mine)
	if len(mine) != 1 || mine[0].ID != o.ID || mine[0].Ticket.Title != "Concert" {
		t.Errorf("GET /api/orders = %+v, want the one order with its ticket", mine)
	}
	stranger.do("GET", "/api/orders/"+o.ID, nil).want(t, 401)
	stranger.do("DELETE", "/api/orders/"+o.ID, nil).want(t, 401)
	buyer.do("GET", "/api/orders/nosuchorder0000000000000", nil).want(t, 404)

	buyer.do("DELETE", "/api/orders/"+o.ID, nil).want(t, 204)
	var got order
	buyer.do("GET", "/api/orders/"+o.ID, nil).want(t, 200).json(t, &got)
	if got.Status != "cancelled" {
		t.Errorf("status %q after DELETE, want cancelled", got.Status)
	}
	eventually(t, 10*time.Second, "the ticket to be released", func() bool {
		tk2 := getTicket(t, seller, tk.ID)
		return tk2.OrderID == "" && tk2.Version == 2
	})
	// Released: it can be ordered again, and edited by its owner.
	otherBuyer.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201)
}

func TestTicketsAreValidatedAndOwned(t *testing.T) {
	seller, other := signedUp(t), signedUp(t)
	anon := newUser(t)
	anon.do("POST", "/api/tickets", map[string]any{"title": "x", "price": 10}).want(t, 401)
	msgs := seller.do("POST", "/api/tickets", map[string]any{"title": "", "price": -10}).want(t, 400).errorMessages(t)
	if msgs["title"] != "Title is required" || msgs["price"] != "Price must be greater than 0" {
		t.Errorf("validation messages %v", msgs)
	}
	tk := listTicket(t, seller, "Play", 10)
	other.do("PUT", "/api/tickets/"+tk.ID, map[string]any{"title": "Mine now", "price": 1}).want(t, 401)
	seller.do("PUT", "/api/tickets/nosuchticket000000000000", map[string]any{"title": "x", "price": 1}).want(t, 404)
	anon.do("GET", "/api/tickets/nosuchticket000000000000", nil).want(t, 404)
	var upd ticket
	seller.do("PUT", "/api/tickets/"+tk.ID, map[string]any{"title": "Play, act 2", "price": 12}).want(t, 200).json(t, &upd)
	if upd.Version != 1 || upd.Title != "Play, act 2" || upd.Price != 12 {
		t.Errorf("updated %+v, want version 1 with the new title and price", upd)
	}
	// orders applies the update in version order.
	waitHandled(t, 20*time.Second, "ticket:updated", []string{tk.ID}, ticketConsumers...)
	buyer := signedUp(t)
	var o order
	buyer.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201).json(t, &o)
	if o.Ticket.Title != "Play, act 2" || o.Ticket.Price != 12 {
		t.Errorf("order's ticket %+v, want the updated copy", o.Ticket)
	}
	if msgs := buyer.do("POST", "/api/orders", map[string]string{}).want(t, 400).errorMessages(t); msgs["ticketId"] != "TicketId must be provided" {
		t.Errorf("missing ticketId: %v", msgs)
	}
	buyer.do("POST", "/api/orders", map[string]string{"ticketId": "nosuchticket000000000000"}).want(t, 404)
}

func TestTicketListIsPaginated(t *testing.T) {
	seller := signedUp(t)
	for i := range 5 {
		listTicket(t, seller, fmt.Sprintf("Paged %d", i), float64(i+1))
	}
	seen := map[string]bool{}
	path := "/api/tickets?limit=2"
	pages := 0
	for path != "" && pages < 1000 {
		r := newUser(t).do("GET", path, nil).want(t, 200)
		var page []ticket
		r.json(t, &page)
		if len(page) > 2 {
			t.Fatalf("page of %d, want at most the limit 2", len(page))
		}
		for _, tk := range page {
			if seen[tk.ID] {
				t.Fatalf("ticket %s on two pages", tk.ID)
			}
			seen[tk.ID] = true
			if tk.OrderID != "" {
				t.Errorf("reserved ticket %s listed for sale", tk.ID)
			}
		}
		path = nextLink(r.header.Get("Link"))
		pages++
	}
	if pages < 3 {
		t.Errorf("%d pages, want at least 3 for 5+ tickets at 2 a page", pages)
	}
	newUser(t).do("GET", "/api/tickets?limit=0", nil).want(t, 400)
}

// nextLink extracts the rel="next" URL of a Link header (RFC 8288).
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		if strings.Contains(part, `rel="next"`) {
			s := strings.TrimSpace(part)
			if i, j := strings.Index(s, "<"), strings.Index(s, ">"); i >= 0 && j > i {
				u := s[i+1 : j]
				if k := strings.Index(u, "/api/"); k >= 0 {
					return u[k:]
				}
			}
		}
	}
	return ""
}

func TestFiftyConcurrentOrdersForOneTicketHaveOneWinner(t *testing.T) {
	seller := signedUp(t)
	const buyers = 50
	us := make([]*user, buyers)
	for i := range us {
		us[i] = signedUp(t)
	}
	for round := range 3 {
		tk := listedAndKnown(t, seller)
		statuses := make([]int, buyers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, u := range us {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses[i] = u.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).status
			}()
		}
		close(start)
		wg.Wait()
		count := map[int]int{}
		for _, s := range statuses {
			count[s]++
		}
		if count[http.StatusCreated] != 1 || count[http.StatusBadRequest] != buyers-1 {
			t.Fatalf("round %d: statuses %v, want exactly one 201 and %d 400s", round, count, buyers-1)
		}
	}
}

func TestRedeliveredAndStaleEventsChangeNothing(t *testing.T) {
	seller, buyer := signedUp(t), signedUp(t)
	tk := listedAndKnown(t, seller)
	var o order
	buyer.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201).json(t, &o)
	eventually(t, 10*time.Second, "the reservation", func() bool { return getTicket(t, seller, tk.ID).OrderID == o.ID })
	before := getTicket(t, seller, tk.ID)

	// The broker redelivers order:created, and a stale ticket:updated (version 0) arrives.
	created, _ := json.Marshal(map[string]any{"id": o.ID, "version": 0, "status": "created", "userId": buyer.id,
		"expiresAt": o.ExpiresAt, "ticket": map[string]any{"id": tk.ID, "price": tk.Price}})
	publishRaw(t, "order:created", created)
	stale, _ := json.Marshal(map[string]any{"id": tk.ID, "version": 0, "title": "Stale title", "price": 1, "userId": seller.id})
	publishRaw(t, "ticket:updated", stale)
	waitConsumed(t, 20*time.Second, "tickets-order-created", "orders-ticket-updated")

	after := getTicket(t, seller, tk.ID)
	if after != before {
		t.Errorf("ticket changed by a redelivery: before %+v, after %+v", before, after)
	}
	var got order
	buyer.do("GET", "/api/orders/"+o.ID, nil).want(t, 200).json(t, &got)
	if got.Ticket.Title == "Stale title" || got.Version != o.Version || got.Status != "created" {
		t.Errorf("order changed by stale events: %+v", got)
	}
}
