package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

func TestOrderRequestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   orderRequest
		want map[string]string
	}{
		{"a ticket id", orderRequest{TicketID: web.NewText("t1")}, map[string]string{}},
		{"no ticket id", orderRequest{}, map[string]string{"ticketId": "TicketId must be provided"}},
		{"a blank ticket id", orderRequest{TicketID: web.NewText("  ")}, map[string]string{"ticketId": "TicketId must be provided"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Validate(); !maps.Equal(got, tt.want) {
				t.Errorf("Validate() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewOrder(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	free := Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 3}

	t.Run("a free ticket is taken until the window ends", func(t *testing.T) {
		o, reserved, err := newOrder("o1", "u1", free, now, 15*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		created := time.Date(2026, 11, 25, 11, 0, 0, 123000000, time.UTC)
		want := Order{ID: "o1", UserID: "u1", Status: events.OrderStatusCreated, ExpiresAt: created.Add(15 * time.Minute),
			Ticket: OrderTicket{ID: "t1", Title: "Concert", Price: 20, Version: 3}, CreatedAt: created}
		if o != want {
			t.Errorf("order = %+v, want %+v", o, want)
		}
		if wantTicket := (Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 3, ReservedBy: "o1"}); reserved != wantTicket {
			t.Errorf("ticket = %+v, want %+v", reserved, wantTicket)
		}
	})
	t.Run("a reserved ticket is refused", func(t *testing.T) {
		held := free
		held.ReservedBy = "o0"
		if _, got, err := newOrder("o1", "u1", held, now, time.Minute); !errors.Is(err, ErrTicketReserved) || got != held {
			t.Errorf("newOrder() = %+v, %v; want the ticket unchanged and %v", got, err, ErrTicketReserved)
		}
	})
}

func TestOrderTransitions(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(s events.OrderStatus, v int64) Order { return Order{ID: "o1", UserID: "u1", Status: s, Version: v} }
	paying := func(until time.Time) Order {
		o := at(events.OrderStatusAwaitingPayment, 2)
		o.PaymentUntil = until
		return o
	}
	cancel := func(o Order) (Order, error) { return o.cancel(now, false) }
	cancelSettled := func(o Order) (Order, error) { return o.cancel(now, true) }
	tests := []struct {
		name    string
		change  func(Order) (Order, error)
		from    Order
		want    Order
		wantErr error
	}{
		{"cancel a created order", cancel, at(events.OrderStatusCreated, 0), at(events.OrderStatusCancelled, 1), nil},
		{"cancel an order while its payment is in flight", cancel, paying(now.Add(time.Second)), paying(now.Add(time.Second)), ErrPaymentInProgress},
		{"cancel an order whose payment's time is up", cancel, paying(now), paying(now), errSettleFirst},
		{"cancel an order whose payment took no money", cancelSettled, paying(now.Add(time.Second)), at(events.OrderStatusCancelled, 3), nil},
		{"cancel a paid order", cancel, at(events.OrderStatusComplete, 1), at(events.OrderStatusComplete, 1), ErrOrderComplete},
		{"cancel a cancelled order", cancel, at(events.OrderStatusCancelled, 1), at(events.OrderStatusCancelled, 1), ErrAlreadyCancelled},
		{"complete a created order", Order.complete, at(events.OrderStatusCreated, 0), at(events.OrderStatusComplete, 1), nil},
		{"complete an order awaiting payment", Order.complete, paying(now), at(events.OrderStatusComplete, 3), nil},
		{"complete a paid order", Order.complete, at(events.OrderStatusComplete, 1), at(events.OrderStatusComplete, 1), ErrAlreadyComplete},
		{"complete a cancelled order", Order.complete, at(events.OrderStatusCancelled, 1), at(events.OrderStatusCancelled, 1), ErrOrderCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.change(tt.from)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOrderOwnedBy(t *testing.T) {
	o := Order{ID: "o1", UserID: "u1"}
	if err := o.ownedBy("u1"); err != nil {
		t.Errorf("ownedBy(owner) = %v, want nil", err)
	}
	if err := o.ownedBy("u2"); !errors.Is(err, ErrNotOwner) {
		t.Errorf("ownedBy(someone else) = %v, want %v", err, ErrNotOwner)
	}
}

func TestTicketApplyUpdate(t *testing.T) {
	copyAt := Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 2, ReservedBy: "o1"}
	update := func(v int64) events.TicketUpdatedEvent {
		return events.TicketUpdatedEvent{ID: "t1", Version: v, Title: "Opera", Price: 30, UserID: "seller", OrderID: "someone"}
	}
	tests := []struct {
		name        string
		ev          events.TicketUpdatedEvent
		want        Ticket
		wantChanged bool
		wantErr     error
	}{
		{"the next version, keeping orders' own reservation", update(3), Ticket{ID: "t1", Title: "Opera", Price: 30, Version: 3, UserID: "seller", ReservedBy: "o1"}, true, nil},
		{"the version it has", update(2), copyAt, false, nil},
		{"an older version", update(1), copyAt, false, nil},
		{"a version after a gap", update(4), copyAt, false, ErrVersionGap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := copyAt.applyUpdate(tt.ev)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want || changed != tt.wantChanged {
				t.Errorf("got %+v, changed %v; want %+v, changed %v", got, changed, tt.want, tt.wantChanged)
			}
		})
	}
}

func TestTicketRelease(t *testing.T) {
	held := Ticket{ID: "t1", Version: 1, ReservedBy: "o1"}
	free := Ticket{ID: "t1", Version: 1}
	tests := []struct {
		name        string
		ticket      Ticket
		orderID     string
		want        Ticket
		wantChanged bool
	}{
		{"the holding order frees it", held, "o1", free, true},
		{"another order cannot", held, "o2", held, false},
		{"a free ticket stays free", free, "o1", free, false},
		{"an empty order id frees nothing", free, "", free, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := tt.ticket.release(tt.orderID)
			if got != tt.want || changed != tt.wantChanged {
				t.Errorf("got %+v, changed %v; want %+v, changed %v", got, changed, tt.want, tt.wantChanged)
			}
		})
	}
}

func TestUserOrdersWith(t *testing.T) {
	base := userOrders{OrderIDs: make([]string, 1, 4)}
	base.OrderIDs[0] = "o1"
	tests := []struct {
		name string
		add  string
		want []string
	}{
		{"a new order is appended", "o2", []string{"o1", "o2"}},
		{"an order already there is not repeated", "o1", []string{"o1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if head, full := base.with(tt.add); !slices.Equal(head.OrderIDs, tt.want) || full != nil {
				t.Errorf("with(%q) = %v (full page %v), want %v", tt.add, head.OrderIDs, full, tt.want)
			}
		})
	}
	t.Run("the original is not changed", func(t *testing.T) {
		a, _ := base.with("oA")
		b, _ := base.with("oB")
		if a.OrderIDs[1] != "oA" || b.OrderIDs[1] != "oB" {
			t.Errorf("two additions to one index share storage: %v, %v", a.OrderIDs, b.OrderIDs)
		}
	})
	t.Run("a full head becomes a page", func(t *testing.T) {
		full := userOrders{Pages: 2}
		for i := range ordersPerPage {
			full.OrderIDs = append(full.OrderIDs, fmt.Sprint("o", i))
		}
		head, page := full.with("new")
		if !slices.Equal(head.OrderIDs, []string{"new"}) || head.Pages != 3 || !slices.Equal(page, full.OrderIDs) {
			t.Errorf("with = head %+v, page %v; want head [new] of 3 pages, and the full page", head, page)
		}
	})
}

func TestABuyersOrdersListOldestFirstAcrossPages(t *testing.T) {
	state := sidecartest.NewState()
	log := slog.New(slog.DiscardHandler)
	orders := newOrderStore(store.New(state, &sidecartest.Publisher{}, log), &fakeTickets{}, &fakePayments{}, time.Minute)
	ctx := context.Background()
	const n = 2*ordersPerPage + 5
	var want []string
	for i := range n {
		id := fmt.Sprintf("t%03d", i)
		if err := state.Transact(ctx, sidecar.Op{Key: ticketKey(id), Value: Ticket{ID: id, Title: "Show", Price: 10}}); err != nil {
			t.Fatal(err)
		}
		o, err := orders.place(ctx, "buyer", id, time.Now(), time.Minute)
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		want = append(want, o.ID)
	}
	got, err := orders.ordersOf(ctx, "buyer")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range got {
		ids = append(ids, o.ID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("listed %d orders, want all %d oldest first", len(ids), len(want))
	}
	if it, _ := state.Get(ctx, userOrdersKey("buyer")); len(it.Value) > 4096 {
		t.Errorf("the index head is %d bytes after %d orders: it grows with the buyer's history", len(it.Value), n)
	}
}

func TestOrderEvents(t *testing.T) {
	expires := time.Date(2026, 11, 25, 12, 15, 0, 0, time.UTC)
	o := Order{ID: "o1", UserID: "u1", Status: events.OrderStatusCreated, ExpiresAt: expires, Version: 0,
		Ticket: OrderTicket{ID: "t1", Title: "Concert", Price: 20.5, Version: 4}}
	cancelled := o
	cancelled.Status, cancelled.Version = events.OrderStatusCancelled, 1
	tests := []struct {
		name string
		got  events.Message
		want events.Message
	}{
		{"created carries the ticket's id and price", o.createdEvent(), events.OrderCreatedEvent{ID: "o1", Version: 0, Status: events.OrderStatusCreated,
			UserID: "u1", ExpiresAt: expires, Ticket: events.OrderTicket{ID: "t1", Price: 20.5}}.Message()},
		{"cancelled carries the ticket's id", cancelled.cancelledEvent(), events.OrderCancelledEvent{ID: "o1", Version: 1, Ticket: events.OrderTicket{ID: "t1"}}.Message()},
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
