package events

// PaymentCreatedEvent is published once a charge for an order succeeded; orders
// marks the order complete.
type PaymentCreatedEvent struct {
	ID       string `json:"id"`
	OrderID  string `json:"orderId"`
	StripeID string `json:"stripeId"`
}

func (e PaymentCreatedEvent) Message() Message {
	// One payment per order: the order id makes a second publish the same event.
	return Message{ID: string(PaymentCreated) + "/" + e.OrderID, Topic: PaymentCreated, Data: e}
}
