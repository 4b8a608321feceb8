package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// waitStatus polls an order until it has the status.
func waitStatus(t testing.TB, u *user, orderID, status string, within time.Duration) order {
	t.Helper()
	var o order
	seen := ""
	defer func() {
		if t.Failed() {
			t.Logf("order %s was last %q", orderID, seen)
		}
	}()
	eventually(t, within, "order "+orderID+" to become "+status, func() bool {
		u.do("GET", "/api/orders/"+orderID, nil).want(t, 200).json(t, &o)
		seen = o.Status
		return o.Status == status
	})
	return o
}

func TestUnpaidOrderExpiresAndTheTicketIsForSaleAgain(t *testing.T) {
	seller, buyer := signedUp(t), signedUp(t)
	tk := listedAndKnown(t, seller)
	var o order
	buyer.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201).json(t, &o)
	eventually(t, 10*time.Second, "the reservation", func() bool { return getTicket(t, seller, tk.ID).OrderID == o.ID })

	waitStatus(t, buyer, o.ID, "cancelled", time.Until(o.ExpiresAt)+15*time.Second)
	if late := time.Since(o.ExpiresAt); late < 0 {
		t.Fatalf("cancelled %v before its deadline", -late)
	}
	eventually(t, 10*time.Second, "the ticket to be released", func() bool { return getTicket(t, seller, tk.ID).OrderID == "" })
	signedUp(t).do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201)
}

func TestOrderExpiresWhenExpirationWasDownAcrossItsDeadline(t *testing.T) {
	seller, buyer := signedUp(t), signedUp(t)
	tk := listedAndKnown(t, seller)
	var o order
	buyer.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201).json(t, &o)
	waitHandled(t, 20*time.Second, "order:created", []string{o.ID}, "expiration-order-created") // the reminder is registered

	// The whole expiration service goes away: app and sidecar.
	the.Proc("expiration").Kill()
	the.Proc("expiration-daprd").Kill()
	eventually(t, time.Until(o.ExpiresAt)+10*time.Second, "the deadline to pass", func() bool {
		return time.Now().After(o.ExpiresAt.Add(2 * time.Second))
	})
	var still order
	buyer.do("GET", "/api/orders/"+o.ID, nil).want(t, 200).json(t, &still)
	if still.Status != "created" {
		t.Fatalf("status %q with expiration down, want created (nothing else can expire it)", still.Status)
	}

	ctx := context.Background()
	if err := the.Control().Resume(ctx, "expiration", "expiration-daprd"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, buyer, o.ID, "cancelled", 30*time.Second)
}

func TestDuplicateAndLateOrderCreatedLeaveOneExpiration(t *testing.T) {
	seller, buyer := signedUp(t), signedUp(t)
	tk := listedAndKnown(t, seller)
	var o order
	buyer.do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201).json(t, &o)
	created, _ := json.Marshal(map[string]any{"id": o.ID, "version": 0, "status": "created", "userId": buyer.id,
		"expiresAt": o.ExpiresAt, "ticket": map[string]any{"id": tk.ID, "price": tk.Price}})
	publishRaw(t, "order:created", created) // a duplicate before the deadline
	waitStatus(t, buyer, o.ID, "cancelled", time.Until(o.ExpiresAt)+15*time.Second)
	publishRaw(t, "order:created", created) // a late one after it
	waitConsumed(t, 20*time.Second, "expiration-order-created", "orders-expiration-complete")

	if n := countOnStream(t, "expiration:complete", o.ID); n != 1 {
		t.Errorf("%d expiration:complete events for the order, want 1", n)
	}
}
