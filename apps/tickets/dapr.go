package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// ticketStore keeps tickets in tickets' own state store, one key per ticket.
// Every change is a Change (see package store): written with the ETag it was
// read with, together with the event announcing it, so a change and its
// event are never apart and two concurrent changes never both win.
type ticketStore struct {
	db *store.Store
}

func newTicketStore(db *store.Store) *ticketStore { return &ticketStore{db: db} }

func ticketKey(id string) string { return "ticket|" + id }

// releasedKey is the tombstone of a cancelled order: once it exists, that
// order can never reserve its ticket, however late its order:created arrives.
func releasedKey(orderID string) string { return "released|" + orderID }

// holdKey is the record of a reservation orders asked for before it made the
// order (see reserveFor): it stays until the order's order:created arrives,
// or until the hold sweep finds that orders never made the order.
func holdKey(ticketID string) string { return "hold|" + ticketID }

// hold is a reservation for an order tickets has not seen created yet.
type hold struct {
	Kind     string    `json:"kind"` // holdKind, for the sweep's query
	TicketID string    `json:"ticketId"`
	OrderID  string    `json:"orderId"`
	Since    time.Time `json:"since"`
}

const holdKind = "hold"

type tombstone struct {
	OrderID  string `json:"orderId"`
	TicketID string `json:"ticketId"`
}

// get returns the ticket and its ETag, or ErrTicketNotFound.
func (s *ticketStore) get(ctx context.Context, id string) (Ticket, string, error) {
	it, err := s.db.Get(ctx, ticketKey(id))
	if err != nil {
		return Ticket{}, "", err
	}
	t, err := storedTicket(it)
	return t, it.ETag, err
}

func storedTicket(it store.Item) (Ticket, error) {
	var t Ticket
	if !it.Found() {
		return t, ErrTicketNotFound
	}
	return t, it.Decode(&t)
}

// create saves a new ticket with its ticket:created event.
func (s *ticketStore) create(ctx context.Context, t Ticket) (Ticket, error) {
	return store.Apply(ctx, s.db, store.Change[Ticket]{
		Decide: func(store.Read) (Ticket, store.Effect, error) {
			return t, store.Effect{Ops: []store.Op{store.Create(ticketKey(t.ID), t)}, Events: []events.Message{t.createdEvent()}}, nil
		},
	})
}

// edit applies an owner's edit with its ticket:updated event; a lost race
// reads again and decides again.
func (s *ticketStore) edit(ctx context.Context, id, userID string, in ticketRequest) (Ticket, error) {
	return store.Apply(ctx, s.db, store.Change[Ticket]{
		Keys: []string{ticketKey(id)},
		Decide: func(r store.Read) (Ticket, store.Effect, error) {
			it := r.Item(ticketKey(id))
			t, err := storedTicket(it)
			if err != nil {
				return Ticket{}, store.Effect{}, err
			}
			edited, err := t.edit(userID, in)
			if err != nil {
				return Ticket{}, store.Effect{}, err
			}
			return edited, saved(it, edited), nil
		},
	})
}

// reserve is the Change order:created asks for: it holds the ticket for the
// order, unless it already does or the order was cancelled first (see
// Ticket.reserve). When orders asked for the reservation before it made the
// order (reserveFor), the order's creation confirms it: the hold record goes.
// The ticket and the order's tombstone are read together, in one snapshot; a
// cancellation committed after that read also rewrote the ticket (see
// release), so this write then fails on its ETag and the change is decided
// again on what won.
func reserve(ticketID, orderID string) store.Change[Ticket] {
	return store.Change[Ticket]{
		Keys: []string{ticketKey(ticketID), releasedKey(orderID), holdKey(ticketID)},
		Decide: func(r store.Read) (Ticket, store.Effect, error) {
			it := r.Item(ticketKey(ticketID))
			t, err := storedTicket(it)
			if err != nil {
				return Ticket{}, store.Effect{}, err
			}
			if h, ok := heldFor(r.Item(holdKey(ticketID)), orderID); ok {
				return t, store.Effect{Ops: []store.Op{store.Delete(h)}}, nil
			}
			cancelled := t.OrderID != orderID && r.Item(releasedKey(orderID)).Found()
			reserved, changed, err := t.reserve(orderID, cancelled)
			if err != nil || !changed {
				return t, store.Effect{}, err
			}
			return reserved, saved(it, reserved), nil
		},
	}
}

// reserveFor is the Change orders asks for before it makes an order: the
// ticket is held for the order at once (so the order shows the ticket as
// reserved, at the price its seller last saved, from its first answer), with
// a hold record until the order's creation arrives. It is refused with
// ErrHeldByAnotherOrder (another order holds it) or ErrOrderReleased (this
// order was cancelled). Asked again for the same order, it answers the
// ticket as it is.
func reserveFor(ticketID, orderID string, now time.Time) store.Change[Ticket] {
	return store.Change[Ticket]{
		Keys: []string{ticketKey(ticketID), releasedKey(orderID), holdKey(ticketID)},
		Decide: func(r store.Read) (Ticket, store.Effect, error) {
			it := r.Item(ticketKey(ticketID))
			t, err := storedTicket(it)
			if err != nil {
				return Ticket{}, store.Effect{}, err
			}
			if t.OrderID == orderID {
				return t, store.Effect{}, nil
			}
			if r.Item(releasedKey(orderID)).Found() {
				return t, store.Effect{}, ErrOrderReleased
			}
			reserved, _, err := t.reserve(orderID, false)
			if err != nil {
				return t, store.Effect{}, err
			}
			eff := saved(it, reserved)
			eff.Ops = append(eff.Ops, store.Put(r.Item(holdKey(ticketID)), hold{Kind: holdKind, TicketID: ticketID, OrderID: orderID, Since: now.UTC()}))
			return reserved, eff, nil
		},
	}
}

// heldFor returns the hold record read as it, if it holds the ticket for
// orderID.
func heldFor(it store.Item, orderID string) (store.Item, bool) {
	var h hold
	if !it.Found() || it.Decode(&h) != nil || h.OrderID != orderID {
		return it, false
	}
	return it, true
}

// release frees the ticket if the order holds it, and in the same transaction
// writes the order's tombstone, so that a late (or redelivered) order:created
// cannot lock the ticket again. When the order does not hold the ticket, the
// ticket is still rewritten unchanged: that moves its ETag, so a reserve for
// this order racing with us fails its write and reads the tombstone.
func release(ticketID, orderID string) store.Change[Ticket] {
	return store.Change[Ticket]{
		Keys: []string{ticketKey(ticketID), releasedKey(orderID), holdKey(ticketID)},
		Decide: func(r store.Read) (Ticket, store.Effect, error) {
			it := r.Item(ticketKey(ticketID))
			t, err := storedTicket(it)
			if err != nil {
				return Ticket{}, store.Effect{}, err
			}
			freed, changed := t.release(orderID)
			var eff store.Effect
			if changed {
				eff.Events = append(eff.Events, freed.updatedEvent())
			} else if r.Item(releasedKey(orderID)).Found() {
				return t, eff, nil // a redelivery: nothing is left to do
			}
			eff.Ops = []store.Op{
				store.Put(it, freed),
				{Key: releasedKey(orderID), Value: tombstone{OrderID: orderID, TicketID: t.ID}},
			}
			if h, ok := heldFor(r.Item(holdKey(ticketID)), orderID); ok {
				eff.Ops = append(eff.Ops, store.Delete(h))
			}
			return freed, eff, nil
		},
	}
}

// saved is the write of a changed ticket over the version read as it, with
// its ticket:updated event.
func saved(it store.Item, t Ticket) store.Effect {
	return store.Effect{Ops: []store.Op{store.Put(it, t)}, Events: []events.Message{t.updatedEvent()}}
}

// forSalePage is the query of one page of the tickets for sale (the index of
// migrations/0002_ticket_list serves it).
func forSalePage(limit int, token string) string {
	var q forSaleQuery
	q.Filter.EQ.Listing = ForSale
	q.Sort = []sortKey{{Key: "listedAt", Order: "DESC"}, {Key: "id", Order: "DESC"}}
	q.Page.Limit, q.Page.Token = limit, token
	b, _ := json.Marshal(q) // a struct of strings and ints always marshals
	return string(b)
}

// forSaleQuery is a Dapr state query: tickets for sale, newest listing first,
// the id breaking ties so that the order is total.
type forSaleQuery struct {
	Filter struct {
		EQ struct {
			Listing listing `json:"listing"`
		} `json:"EQ"`
	} `json:"filter"`
	Sort []sortKey `json:"sort"`
	Page struct {
		Limit int    `json:"limit"`
		Token string `json:"token,omitempty"`
	} `json:"page"`
}

type sortKey struct {
	Key   string `json:"key"`
	Order string `json:"order,omitempty"`
}

// forSale returns one page of tickets for sale and the token of the next page
// ("" on the last). A page shorter than limit is the last whatever the store
// says: Dapr's SQL stores return a token (the next offset) with every page.
func (s *ticketStore) forSale(ctx context.Context, limit int, token string) ([]Ticket, string, error) {
	items, next, err := s.db.Query(ctx, forSalePage(limit, token))
	if err != nil {
		return nil, "", err
	}
	tickets := make([]Ticket, 0, len(items))
	for _, it := range items {
		var t Ticket
		if err := it.Decode(&t); err != nil {
			return nil, "", fmt.Errorf("list tickets: %w", err)
		}
		if t.Listing == ForSale { // the store filtered already; this guards the contract
			tickets = append(tickets, t)
		}
	}
	if len(items) < limit {
		next = ""
	}
	return tickets, next, nil
}
