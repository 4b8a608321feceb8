package events

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// samples holds one event of each topic. A change to a payload changes its
// golden file, which makes the contract change visible in review.
var samples = []interface{ Message() Message }{
	TicketCreatedEvent{ID: "t1", Version: 0, Title: "Concert", Price: 20.5, UserID: "u1"},
	TicketUpdatedEvent{ID: "t1", Version: 1, Title: "Concert", Price: 20.5, UserID: "u1", OrderID: "o1"},
	OrderCreatedEvent{ID: "o1", Version: 0, Status: OrderStatusCreated, UserID: "u2",
		ExpiresAt: time.Date(2026, 11, 25, 12, 15, 0, 0, time.UTC), Ticket: OrderTicket{ID: "t1", Price: 20.5}, SellerID: "u1"},
	OrderCancelledEvent{ID: "o1", Version: 1, Ticket: OrderTicket{ID: "t1"}},
	ExpirationCompleteEvent{OrderID: "o1"},
	PaymentCreatedEvent{ID: "p1", OrderID: "o1", StripeID: "ch_1"},
}

func TestPayloadsMatchGoldenFiles(t *testing.T) {
	seen := map[Topic]bool{}
	for _, s := range samples {
		m := s.Message()
		seen[m.Topic] = true
		t.Run(string(m.Topic), func(t *testing.T) {
			got, err := json.MarshalIndent(m.Data, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", strings.ReplaceAll(string(m.Topic), ":", "-")+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("payload of %s changed:\n got %s\nwant %s", m.Topic, got, want)
			}
		})
	}
	for _, topic := range Topics {
		if !seen[topic] {
			t.Errorf("no sample for topic %s", topic)
		}
	}
}

func TestGoldenFilesDecodeIntoTheirTypes(t *testing.T) {
	// The golden files are what other services (and the original's) send:
	// decoding them must round-trip without losing a field.
	for _, s := range samples {
		m := s.Message()
		path := filepath.Join("testdata", strings.ReplaceAll(string(m.Topic), ":", "-")+".json")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		ptr := newOf(m.Data)
		if err := dec.Decode(ptr); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func newOf(v any) any {
	switch v.(type) {
	case TicketCreatedEvent:
		return new(TicketCreatedEvent)
	case TicketUpdatedEvent:
		return new(TicketUpdatedEvent)
	case OrderCreatedEvent:
		return new(OrderCreatedEvent)
	case OrderCancelledEvent:
		return new(OrderCancelledEvent)
	case ExpirationCompleteEvent:
		return new(ExpirationCompleteEvent)
	case PaymentCreatedEvent:
		return new(PaymentCreatedEvent)
	}
	panic("unknown sample type")
}

func TestEventIDsAreDeterministic(t *testing.T) {
	a := OrderCreatedEvent{ID: "o1", Version: 0}.Message().ID
	b := OrderCreatedEvent{ID: "o1", Version: 0}.Message().ID
	c := OrderCancelledEvent{ID: "o1", Version: 1}.Message().ID
	if a != b {
		t.Errorf("same event, different ids: %q, %q", a, b)
	}
	if a == c {
		t.Errorf("different events share id %q", a)
	}
}

// An order:created of the original's shape (no sellerId) still decodes.
func TestAnOrderCreatedWithoutItsSellerDecodes(t *testing.T) {
	old := `{"id":"o1","version":0,"status":"created","userId":"u2","expiresAt":"2026-11-25T12:15:00Z","ticket":{"id":"t1","price":20.5}}`
	var ev OrderCreatedEvent
	if err := json.Unmarshal([]byte(old), &ev); err != nil || ev.ID != "o1" || ev.Ticket.Price != 20.5 || ev.SellerID != "" {
		t.Errorf("decoded %+v, %v", ev, err)
	}
}
