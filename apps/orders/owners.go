package main

import (
	"context"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/invoke"
)

// What orders asks of the services that own what it does not (through its
// sidecar; package invoke has the contract). *invoke.Client is both.

// ticketOwner is tickets: it reserves and releases tickets.
type ticketOwner interface {
	Reserve(ctx context.Context, ticketID, orderID string) (invoke.Ticket, error)
	Release(ctx context.Context, ticketID, orderID string) error
}

// paymentOwner is payments: it says how an order's payment ended.
type paymentOwner interface {
	Settle(ctx context.Context, orderID string) (string, error)
}

// reserveAtOwner asks tickets to reserve the ticket for the order orders is
// about to make, and returns the ticket as reserved. A ticket tickets still
// shows held by an order orders has cancelled (its order:cancelled not
// applied there yet) is released first, then reserved. reserved is false,
// with no error, when tickets could not be reached: the copy decides then.
// Its errors are ErrNotFound and ErrTicketReserved.
func (s *orderStore) reserveAtOwner(ctx context.Context, ticketID, orderID string) (t Ticket, reserved bool, err error) {
	for attempt := 0; ; attempt++ {
		owned, err := s.tickets.Reserve(ctx, ticketID, orderID)
		switch {
		case err == nil:
			return Ticket{ID: owned.ID, Title: owned.Title, Price: owned.Price, Version: owned.Version, UserID: owned.UserID}, true, nil
		case invoke.IsUnreachable(err):
			return Ticket{}, false, nil
		case apperr.CodeOf(err) == apperr.NotFound:
			return Ticket{}, false, ErrNotFound
		case apperr.CodeOf(err) != apperr.Conflict:
			return Ticket{}, false, err
		}
		holder := invoke.HeldBy(err)
		if holder == "" || attempt > 0 || !s.cancelledHere(ctx, holder) {
			return Ticket{}, false, ErrTicketReserved
		}
		if err := s.tickets.Release(ctx, ticketID, holder); err != nil {
			return Ticket{}, false, ErrTicketReserved
		}
	}
}

// cancelledHere reports whether orders knows the order as cancelled.
func (s *orderStore) cancelledHere(ctx context.Context, id string) bool {
	it, err := s.db.Get(ctx, orderKey(id))
	if err != nil {
		return false
	}
	o, err := stored[Order](it)
	return err == nil && o.Status == "cancelled"
}
