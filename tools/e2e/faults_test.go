package e2e

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestKilledServiceCatchesUpWithNoLostOrDoubledEffect(t *testing.T) {
	for _, victim := range []string{"tickets", "tickets-daprd"} {
		t.Run("SIGKILL "+victim, func(t *testing.T) {
			seller := signedUp(t)
			const n = 5
			tickets := make([]ticket, n)
			for i := range tickets {
				tickets[i] = listTicket(t, seller, "Kill "+victim, 10)
			}
			waitHandled(t, 20*time.Second, "ticket:created", ticketIDs(tickets), ticketConsumers...)

			the.Proc(victim).Kill()
			orders := make([]order, n)
			for i, tk := range tickets {
				signedUp(t).do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201).json(t, &orders[i])
			}
			if err := the.Control().Resume(context.Background(), victim); err != nil {
				t.Fatal(err)
			}
			for i, tk := range tickets {
				eventually(t, 20*time.Second, "ticket "+tk.ID+" reserved after the restart", func() bool {
					return getTicket(t, seller, tk.ID).OrderID == orders[i].ID
				})
			}
			waitConsumed(t, 20*time.Second, "tickets-order-created")
			for _, tk := range tickets {
				// One reservation, applied once: version 0 -> 1, unless it already expired (-> 2).
				if got := getTicket(t, seller, tk.ID); got.Version != 1 && !(got.Version == 2 && got.OrderID == "") {
					t.Errorf("ticket %s at version %d after one reservation", tk.ID, got.Version)
				}
			}
		})
	}
}

func TestTwoReplicasOfOrdersShareTheEvents(t *testing.T) {
	replica, err := the.Control().AddReplica(context.Background(), "orders")
	if err != nil {
		t.Fatal(err)
	}
	defer the.Proc(replica + "-daprd").Stop(5 * time.Second)
	defer the.Proc(replica).Stop(5 * time.Second)

	before := [2]int{handled(t, "orders"), handled(t, replica)}
	seller := signedUp(t)
	const n = 30
	tickets := make([]ticket, n)
	for i := range tickets {
		tickets[i] = listTicket(t, seller, "Replicated", 5)
	}
	waitHandled(t, 30*time.Second, "ticket:created", ticketIDs(tickets), ticketConsumers...)
	a, b := handled(t, "orders")-before[0], handled(t, replica)-before[1]
	if a+b < n {
		t.Fatalf("the replicas handled %d + %d ticket:created deliveries, want at least %d", a, b, n)
	}
	if a == 0 || b == 0 {
		t.Errorf("one replica did all the work (%d vs %d); a queue group should share it", a, b)
	}
	// Both replicas read the same store: every ticket can be ordered once.
	for _, tk := range tickets[:5] {
		signedUp(t).do("POST", "/api/orders", map[string]string{"ticketId": tk.ID}).want(t, 201)
	}
}

// handled counts the ticket:created events an orders instance handled, from
// its request lines (a bulk delivery's line says how many it carried).
func handled(t testing.TB, instance string) int {
	t.Helper()
	b, err := os.ReadFile(the.Proc(instance).LogPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range handledEvents.FindAllStringSubmatch(string(b), -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}

var handledEvents = regexp.MustCompile(`route=/events/ticket-created status=200 .*?\bsuccess=(\d+)`)
