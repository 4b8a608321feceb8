package main

import (
	"errors"
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

func TestTicketRequestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   ticketRequest
		want map[string]string
	}{
		{"a title and a price", ticketRequest{Title: web.NewText("Concert"), Price: web.NewNumber(20)}, map[string]string{}},
		{"a price in cents", ticketRequest{Title: web.NewText("Concert"), Price: web.NewNumber(19.99)}, map[string]string{}},
		{"the highest price", ticketRequest{Title: web.NewText("Concert"), Price: web.NewNumber(maxPrice)}, map[string]string{}},
		{"nothing at all", ticketRequest{}, map[string]string{"title": "Title is required", "price": "Price must be greater than 0"}},
		{"a blank title", ticketRequest{Title: web.NewText("  \t"), Price: web.NewNumber(10)}, map[string]string{"title": "Title is required"}},
		{"a title too long", ticketRequest{Title: web.NewText(strings.Repeat("é", maxTitleRunes+1)), Price: web.NewNumber(10)}, map[string]string{"title": "Title must be at most 200 characters"}},
		{"a title of the longest length", ticketRequest{Title: web.NewText(strings.Repeat("é", maxTitleRunes)), Price: web.NewNumber(10)}, map[string]string{}},
		{"a zero price", ticketRequest{Title: web.NewText("Concert"), Price: web.NewNumber(0)}, map[string]string{"price": "Price must be greater than 0"}},
		{"a negative price", ticketRequest{Title: web.NewText("Concert"), Price: web.NewNumber(-10)}, map[string]string{"price": "Price must be greater than 0"}},
		{"a price that is not a number", ticketRequest{Title: web.NewText("Concert"), Price: web.NewNumber(math.NaN())}, map[string]string{"price": "Price must be greater than 0"}},
		{"an infinite price", ticketRequest{Title: web.NewText("Concert"), Price: web.NewNumber(math.Inf(1))}, map[string]string{"price": "Price must be greater than 0"}},
		{"a price too high", ticketRequest{Title: web.NewText("Concert"), Price: web.NewNumber(maxPrice + 0.01)}, map[string]string{"price": "Price must be at most 1000000"}},
		{"a fraction of a cent", ticketRequest{Title: web.NewText("Concert"), Price: web.NewNumber(10.005)}, map[string]string{"price": "Price must have at most 2 decimal places"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Validate(); !maps.Equal(got, tt.want) {
				t.Errorf("Validate() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewTicket(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	got := newTicket("t1", "u1", ticketRequest{Title: web.NewText("  Concert "), Price: web.NewNumber(19.99)}, now)
	want := Ticket{ID: "t1", Title: "Concert", Price: 19.99, UserID: "u1", ListedAt: "2026-11-25T11:00:00.000000000Z", Listing: ForSale}
	if got != want {
		t.Errorf("newTicket() = %+v, want %+v", got, want)
	}
}

func TestListedAtSortsAsText(t *testing.T) {
	// RFC3339Nano drops trailing zeros, so "12:00:00Z" sorts after
	// "12:00:00.1Z" as text; a fixed width keeps text order and time order one.
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	times := []time.Time{base, base.Add(100 * time.Millisecond), base.Add(time.Second), base.Add(time.Second + time.Nanosecond)}
	for i := 1; i < len(times); i++ {
		earlier := newTicket("a", "u", ticketRequest{Title: web.NewText("x"), Price: web.NewNumber(1)}, times[i-1]).ListedAt
		later := newTicket("b", "u", ticketRequest{Title: web.NewText("x"), Price: web.NewNumber(1)}, times[i]).ListedAt
		if !(earlier < later) || len(earlier) != len(later) {
			t.Errorf("ListedAt %q then %q: want increasing text of one width", earlier, later)
		}
	}
}

func TestTicketEdit(t *testing.T) {
	listed := Ticket{ID: "t1", Title: "Concert", Price: 20, UserID: "owner", Version: 3, Listing: ForSale}
	reserved := listed
	reserved.OrderID, reserved.Listing = "o1", Reserved
	edit := ticketRequest{Title: web.NewText(" Opera "), Price: web.NewNumber(35.5)}

	tests := []struct {
		name    string
		ticket  Ticket
		userID  string
		want    Ticket
		wantErr error
	}{
		{"by its owner", listed, "owner", Ticket{ID: "t1", Title: "Opera", Price: 35.5, UserID: "owner", Version: 4, Listing: ForSale}, nil},
		{"by someone else", listed, "intruder", listed, ErrNotOwner},
		{"reserved, by its owner", reserved, "owner", reserved, ErrReserved},
		{"reserved, by someone else: reserved is said first", reserved, "intruder", reserved, ErrReserved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ticket.edit(tt.userID, edit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("edit() error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("edit() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTicketReserve(t *testing.T) {
	free := Ticket{ID: "t1", Title: "Concert", Price: 20, UserID: "owner", Version: 2, Listing: ForSale}
	heldBy := func(orderID string, version int64) Ticket {
		t := free
		t.OrderID, t.Listing, t.Version = orderID, Reserved, version
		return t
	}
	tests := []struct {
		name        string
		ticket      Ticket
		released    bool
		want        Ticket
		wantChanged bool
		wantErr     error
	}{
		{"a free ticket is held", free, false, heldBy("o1", 3), true, nil},
		{"a ticket this order holds is left alone", heldBy("o1", 3), false, heldBy("o1", 3), false, nil},
		{"a cancelled order takes nothing", free, true, free, false, nil},
		{"another order's ticket must wait", heldBy("o0", 3), false, heldBy("o0", 3), false, ErrHeldByAnotherOrder},
		{"a cancelled order does not wait for another's", heldBy("o0", 3), true, heldBy("o0", 3), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := tt.ticket.reserve("o1", tt.released)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("reserve() error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want || changed != tt.wantChanged {
				t.Errorf("reserve() = %+v, changed %v; want %+v, changed %v", got, changed, tt.want, tt.wantChanged)
			}
		})
	}
}

func TestTicketRelease(t *testing.T) {
	free := Ticket{ID: "t1", Title: "Concert", Price: 20, UserID: "owner", Version: 3, Listing: ForSale}
	held := free
	held.OrderID, held.Listing = "o1", Reserved
	tests := []struct {
		name        string
		ticket      Ticket
		orderID     string
		want        Ticket
		wantChanged bool
	}{
		{"the holding order frees it", held, "o1", Ticket{ID: "t1", Title: "Concert", Price: 20, UserID: "owner", Version: 4, Listing: ForSale}, true},
		{"another order cannot", held, "o2", held, false},
		{"a free ticket stays as it is", free, "o1", free, false},
		{"an empty order id frees nothing", free, "", free, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := tt.ticket.release(tt.orderID)
			if got != tt.want || changed != tt.wantChanged {
				t.Errorf("release() = %+v, changed %v; want %+v, changed %v", got, changed, tt.want, tt.wantChanged)
			}
		})
	}
}

func TestTicketEvents(t *testing.T) {
	tk := Ticket{ID: "t1", Title: "Concert", Price: 20, UserID: "u1", Version: 4, OrderID: "o1", ListedAt: "x"}
	tests := []struct {
		name string
		got  events.Message
		want events.Message
	}{
		{"created", tk.createdEvent(), events.TicketCreatedEvent{ID: "t1", Version: 4, Title: "Concert", Price: 20, UserID: "u1"}.Message()},
		{"updated carries the order", tk.updatedEvent(), events.TicketUpdatedEvent{ID: "t1", Version: 4, Title: "Concert", Price: 20, UserID: "u1", OrderID: "o1"}.Message()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %+v, want %+v", tt.got, tt.want)
			}
		})
	}
}

func TestNewIDLooksLikeAnObjectID(t *testing.T) {
	a, b := newID(), newID()
	if len(a) != 24 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("newID() = %q, want 24 hex digits", a)
	}
	if a == b {
		t.Errorf("newID() twice gave %q both times", a)
	}
}
