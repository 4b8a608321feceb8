package events

// ExpirationCompleteEvent is published when an order's deadline has passed;
// orders cancels the order unless it is complete.
type ExpirationCompleteEvent struct {
	OrderID string `json:"orderId"`
}

func (e ExpirationCompleteEvent) Message() Message {
	return Message{ID: string(ExpirationComplete) + "/" + e.OrderID, Topic: ExpirationComplete, Data: e}
}
