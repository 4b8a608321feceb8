package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// The fuzz targets drive the real server (newServer) over a fresh in-memory
// store per input, holding two ticket copies, "t1" for sale and "t2" held by
// order "o1" of fuzzBuyer. Requests are signed in, so that the body is
// decoded. Bad input must get a 4xx with the error body, never a 5xx (a panic
// is recovered as a 500, so it counts as one); a delivery is always answered
// 200 with SUCCESS, RETRY or DROP, and one that cannot decode is a DROP.

const fuzzBuyer = "u2"

var fuzzStart = map[string]any{
	ticketKey("t1"): Ticket{ID: "t1", Title: "Concert", Price: 20, Version: 0},
	ticketKey("t2"): Ticket{ID: "t2", Title: "Opera", Price: 35.5, Version: 2, ReservedBy: "o1"},
	orderKey("o1"): Order{ID: "o1", UserID: fuzzBuyer, Status: events.OrderStatusCreated,
		ExpiresAt: time.Date(2026, 11, 25, 12, 15, 0, 0, time.UTC), CreatedAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Ticket: OrderTicket{ID: "t2", Title: "Opera", Price: 35.5, Version: 2}},
	userOrdersKey(fuzzBuyer): userOrders{OrderIDs: []string{"o1"}},
}

type fuzzApp struct {
	h    http.Handler
	keys *auth.Keys
}

func newFuzzApp(t *testing.T) fuzzApp {
	t.Helper()
	keys, err := auth.NewKeys([]byte("a-test-signing-key-of-32-bytes!!"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	state := sidecartest.NewState()
	for k, v := range fuzzStart {
		if err := state.Transact(context.Background(), sidecar.Op{Key: k, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	orders := newOrderStore(store.New(state, &sidecartest.Publisher{}, log), &fakeTickets{}, &fakePayments{}, time.Minute)
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return fuzzApp{h: newServer(log, cfg, keys, orders), keys: keys}
}

// request sends body as fuzzBuyer and checks the answer: one of the statuses
// wanted (never a 5xx), and the error body with at least one message unless
// it is a 2xx.
func (a fuzzApp) request(t *testing.T, method, path string, body []byte, want ...int) {
	t.Helper()
	w := sidecartest.Request(t, a.h, a.keys, method, path, string(body), fuzzBuyer)
	if !slices.Contains(want, w.Code) {
		t.Fatalf("%s %s %q: status %d, want one of %v: %s", method, path, body, w.Code, want, w.Body)
	}
	if w.Code/100 == 2 {
		return
	}
	var e web.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || len(e.Errors) == 0 || e.Errors[0].Message == "" {
		t.Fatalf("%s %s %q: %d with body %q, want the error shape", method, path, body, w.Code, w.Body)
	}
}

// fuzzDeliver hands body to topic's route as the sidecar would and checks the
// answer: 200 with SUCCESS, RETRY or DROP; DROP when the envelope or its
// payload (a T) does not decode; never RETRY unless mayRetry.
func fuzzDeliver[T any](t *testing.T, h http.Handler, topic events.Topic, body []byte, mayRetry bool) {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, topic.Route(), bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/cloudevents+json")
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("delivery %q: status %d, want 200: %s", body, w.Code, w.Body)
	}
	var resp struct{ Status string }
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("delivery %q: answer %q: %v", body, w.Body, err)
	}
	switch resp.Status {
	case "SUCCESS", "DROP":
	case "RETRY":
		if !mayRetry {
			t.Fatalf("delivery %q answered RETRY, which nothing here can make succeed later", body)
		}
	default:
		t.Fatalf("delivery %q: answer %q, want SUCCESS, RETRY or DROP", body, w.Body)
	}
	var e delivery.Event
	decodes := json.Unmarshal(body, &e) == nil && json.Unmarshal(e.Data, new(T)) == nil
	if !decodes && resp.Status != "DROP" {
		t.Fatalf("undecodable delivery %q answered %s, want DROP", body, resp.Status)
	}
}

// envelope is a CloudEvent as the sidecar delivers it, around raw data.
func envelope(topic events.Topic, id, data string) []byte {
	return []byte(`{"id":"` + id + `","source":"tickets","type":"com.dapr.event.sent","specversion":"1.0",` +
		`"datacontenttype":"application/json","topic":"` + string(topic) + `","pubsubname":"pubsub","data":` + data + `}`)
}

func addDeliverySeeds(f *testing.F, topic events.Topic, payloads []string) {
	for _, p := range payloads {
		f.Add(envelope(topic, string(topic)+"/x/0", p))
	}
	f.Add([]byte(`{"id":"e1","topic":"` + string(topic) + `"}`)) // no data
	f.Add([]byte(`{"id":["e1"],"data":{}}`))
	f.Add([]byte(`not json`))
}

// FuzzCreateOrder posts arbitrary bodies to POST /api/orders: 201 for t1, 400
// for t2 (reserved) or an invalid body, 404 for a ticket orders never heard of.
func FuzzCreateOrder(f *testing.F) {
	for _, s := range []string{
		`{"ticketId":"t1"}`,
		`{"ticketId":" t1 "}`,
		`{"ticketId":"t2"}`,
		`{"ticketId":"nope"}`,
		`{"ticketId":"t1"`,
		`{"ticketId":1}`,
		`{"ticketId":["t1"]}`,
		`{"ticketId":"t\u00e9\ud83c\udf9f"}`,
		`{"ticketId":"\u0000"}`,
		`{"ticketId":""}`,
		`{"ticketId":"t1","userId":"u9"}`,
		`[]`,
		`null`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		newFuzzApp(t).request(t, http.MethodPost, "/api/orders", body,
			http.StatusCreated, http.StatusBadRequest, http.StatusNotFound)
	})
}

// ticketEventSeeds are valid and near-valid payloads of ticket:created and
// ticket:updated.
var ticketEventSeeds = []string{
	`{"id":"t3","version":0,"title":"Ballet","price":15,"userId":"u1"}`,
	`{"id":"t1","version":1,"title":"Concert (moved)","price":25,"userId":"u1"}`,
	`{"id":"t2","version":3,"title":"Opera","price":35.5,"userId":"u1","orderId":"o1"}`,
	`{"id":"t1","version":1,"title":"Concert","price":25`,
	`{"id":1,"version":"1","price":"25"}`,
	`{"id":"t1","version":9223372036854775807,"price":1e308}`,
	`{"id":"t1","version":1,"price":1e400}`,
	`{"id":"t1","version":-1,"price":-5}`,
	`{"id":"t\u00e9\ud83c\udf9f","version":0,"title":"\ud800"}`,
	`{"id":"","version":0}`,
	`"t1"`,
	`null`,
}

// FuzzTicketCreatedEvent delivers arbitrary bodies to ticket:created's route.
// Creating a copy has nothing to wait for, so nothing can ask for a RETRY.
func FuzzTicketCreatedEvent(f *testing.F) {
	addDeliverySeeds(f, events.TicketCreated, ticketEventSeeds)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDeliver[events.TicketCreatedEvent](t, newFuzzApp(t).h, events.TicketCreated, body, false)
	})
}

// FuzzTicketUpdatedEvent delivers arbitrary bodies to ticket:updated's route.
// An update of a ticket orders has no copy of, or one versions ahead, waits
// for the events before it: a RETRY by design.
func FuzzTicketUpdatedEvent(f *testing.F) {
	addDeliverySeeds(f, events.TicketUpdated, ticketEventSeeds)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDeliver[events.TicketUpdatedEvent](t, newFuzzApp(t).h, events.TicketUpdated, body, true)
	})
}

// FuzzExpirationCompleteEvent delivers arbitrary bodies to
// expiration:complete's route; order o1 exists.
func FuzzExpirationCompleteEvent(f *testing.F) {
	addDeliverySeeds(f, events.ExpirationComplete, []string{
		`{"orderId":"o1"}`,
		`{"orderId":"nope"}`,
		`{"orderId":"o1"`,
		`{"orderId":1}`,
		`{"orderId":"o\u00e9\ud83c\udf9f"}`,
		`{"orderId":""}`,
		`{}`,
		`"o1"`,
		`null`,
	})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDeliver[events.ExpirationCompleteEvent](t, newFuzzApp(t).h, events.ExpirationComplete, body, false)
	})
}

// FuzzPaymentCreatedEvent delivers arbitrary bodies to payment:created's
// route; order o1 exists.
func FuzzPaymentCreatedEvent(f *testing.F) {
	addDeliverySeeds(f, events.PaymentCreated, []string{
		`{"id":"p1","orderId":"o1","stripeId":"ch_1"}`,
		`{"id":"p1","orderId":"nope","stripeId":"ch_1"}`,
		`{"id":"p1","orderId":"o1","stripeId":"ch_1"`,
		`{"id":1,"orderId":["o1"]}`,
		`{"id":"p\u00e9","orderId":"o1","stripeId":"\ud83c\udf9f"}`,
		`{"orderId":""}`,
		`{}`,
		`"o1"`,
		`null`,
	})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDeliver[events.PaymentCreatedEvent](t, newFuzzApp(t).h, events.PaymentCreated, body, false)
	})
}
