package events

// Ticket is a ticket as the ticket events carry it.
type Ticket struct {
	ID      string  `json:"id"`
	Version int64   `json:"version"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	UserID  string  `json:"userId"`
	// OrderID is set while an order holds the ticket (ticket:updated only).
	OrderID string `json:"orderId,omitempty"`
}

// TicketCreatedEvent is published when a ticket is listed (version 0).
type TicketCreatedEvent Ticket

// TicketUpdatedEvent is published on every later change: an edit, a
// reservation, a release. Listeners apply it only at version = theirs + 1.
type TicketUpdatedEvent Ticket

func (e TicketCreatedEvent) Message() Message {
	return Message{ID: id(TicketCreated, e.ID, e.Version), Topic: TicketCreated, Data: e}
}

func (e TicketUpdatedEvent) Message() Message {
	return Message{ID: id(TicketUpdated, e.ID, e.Version), Topic: TicketUpdated, Data: e}
}
