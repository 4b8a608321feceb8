package events

import "time"

// OrderStatus is an order's place in its life.
type OrderStatus string

const (
	// Created: the ticket is held, payment not yet made.
	OrderStatusCreated OrderStatus = "created"
	// Cancelled: by the buyer, or because it expired; the ticket is free again.
	OrderStatusCancelled OrderStatus = "cancelled"
	// AwaitingPayment is part of the original's vocabulary; no flow sets it.
	OrderStatusAwaitingPayment OrderStatus = "awaiting:payment"
	// Complete: paid. A complete order is never cancelled.
	OrderStatusComplete OrderStatus = "complete"
)

// OrderTicket is the part of a ticket an order event carries.
type OrderTicket struct {
	ID    string  `json:"id"`
	Price float64 `json:"price,omitempty"`
}

// OrderCreatedEvent is published when an order takes a ticket (version 0).
// SellerID, added to the original's payload, is the ticket's seller (the
// account a marketplace pays); an event without it (an older publisher)
// still decodes, with it empty.
type OrderCreatedEvent struct {
	ID        string      `json:"id"`
	Version   int64       `json:"version"`
	Status    OrderStatus `json:"status"`
	UserID    string      `json:"userId"`
	ExpiresAt time.Time   `json:"expiresAt"`
	Ticket    OrderTicket `json:"ticket"`
	SellerID  string      `json:"sellerId,omitempty"`
}

// OrderCancelledEvent is published when an order is cancelled, by its buyer or
// by expiration; listeners release the ticket and forget the payment.
type OrderCancelledEvent struct {
	ID      string      `json:"id"`
	Version int64       `json:"version"`
	Ticket  OrderTicket `json:"ticket"`
}

func (e OrderCreatedEvent) Message() Message {
	return Message{ID: id(OrderCreated, e.ID, e.Version), Topic: OrderCreated, Data: e}
}

func (e OrderCancelledEvent) Message() Message {
	return Message{ID: id(OrderCancelled, e.ID, e.Version), Topic: OrderCancelled, Data: e}
}
