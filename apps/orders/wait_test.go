package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// lateTicket is a store where the ticket's copy arrives (as ticket:created
// would) just after the first time orders looks for it.
type lateTicket struct {
	*sidecartest.State
	ticket Ticket
	looks  int
}

func (l *lateTicket) Get(ctx context.Context, key string) (sidecar.Item, error) {
	if key == ticketKey(l.ticket.ID) {
		l.looks++
		if l.looks == 2 {
			if err := l.State.Transact(ctx, sidecar.Op{Key: key, Value: l.ticket, Create: true}); err != nil {
				return sidecar.Item{}, err
			}
		}
	}
	return l.State.Get(ctx, key)
}

func (l *lateTicket) GetBulk(ctx context.Context, keys []string) ([]sidecar.Item, error) {
	items := make([]sidecar.Item, len(keys))
	for i, k := range keys {
		var err error
		if items[i], err = l.Get(ctx, k); err != nil {
			return nil, err
		}
	}
	return items, nil
}

func TestAnOrderWaitsBrieflyForATicketItHasNotHeardOf(t *testing.T) {
	st := &lateTicket{State: sidecartest.NewState(), ticket: Ticket{ID: "t1", Title: "Show", Price: 10}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	orders := newOrderStore(store.New(st, &sidecartest.Publisher{}, log), 0)
	orders.ticketWait = time.Minute

	o, err := orders.place(context.Background(), "u1", "t1", time.Now(), time.Minute)
	if err != nil {
		t.Fatalf("place = %v, want the order once the ticket arrived", err)
	}
	if o.Ticket.ID != "t1" || st.looks < 2 {
		t.Errorf("order %+v after %d looks", o, st.looks)
	}
}

func TestAnUnknownTicketIsNotFoundAfterTheWait(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	state := sidecartest.NewState()
	orders := newOrderStore(store.New(state, &sidecartest.Publisher{}, log), 0)
	orders.ticketWait = 30 * time.Millisecond
	start := time.Now()
	_, err := orders.place(context.Background(), "u1", "nope", time.Now(), time.Minute)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("place = %v, want ErrNotFound", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("waited %v for a 30 ms bound", waited)
	}
}
