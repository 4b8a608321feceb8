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
// store per input, holding one ticket (fuzzListed, "t1", for sale, owned by
// fuzzSeller). Requests are signed in, so that the body is decoded. Bad input
// must get a 4xx with the error body, never a 5xx (a panic is recovered as a
// 500, so it counts as one); a delivery is always answered 200 with SUCCESS,
// RETRY or DROP, and one that cannot decode is a DROP.

const fuzzSeller = "u1"

var fuzzListed = Ticket{ID: "t1", Title: "Concert", Price: 20, UserID: fuzzSeller, ListedAt: "2026-11-25T12:00:00.000000000Z", Listing: ForSale}

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
	if err := state.Transact(context.Background(), sidecar.Op{Key: ticketKey(fuzzListed.ID), Value: fuzzListed}); err != nil {
		t.Fatal(err)
	}
	tickets := newTicketStore(store.New(state, &sidecartest.Publisher{}, log))
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return fuzzApp{h: newServer(log, cfg, keys, tickets), keys: keys}
}

// request sends body as fuzzSeller and checks the answer: one of the statuses
// wanted (never a 5xx), and the error body with at least one message unless
// it is a 2xx.
func (a fuzzApp) request(t *testing.T, method, path string, body []byte, want ...int) {
	t.Helper()
	w := sidecartest.Request(t, a.h, a.keys, method, path, string(body), fuzzSeller)
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
	return []byte(`{"id":"` + id + `","source":"orders","type":"com.dapr.event.sent","specversion":"1.0",` +
		`"datacontenttype":"application/json","topic":"` + string(topic) + `","pubsubname":"pubsub","data":` + data + `}`)
}

// ticketSeeds are valid and near-valid bodies of POST and PUT /api/tickets.
var ticketSeeds = []string{
	`{"title":"Concert","price":20}`,
	`{"title":"Concert","price":19.99}`,
	`{"title":"Concert","price":20`,
	`{"title":20,"price":"Concert"}`,
	`{"title":"Concert","price":1e400}`,
	`{"title":"Concert","price":1000000.01}`,
	`{"title":"Concert","price":0.001}`,
	`{"title":"Concert","price":-0}`,
	`{"title":"Konzert \u00fcber \ud83c\udfb5 alles","price":12.5}`,
	`{"title":"\ud800","price":1}`,
	`{"title":"   ","price":5}`,
	`{"title":"Concert","price":20,"userId":"u2","orderId":"o1"}`,
	`{"title":"Concert","price":20}{"title":"Opera","price":30}`,
	`[]`,
	`null`,
	``,
}

// FuzzCreateTicket posts arbitrary bodies to POST /api/tickets.
func FuzzCreateTicket(f *testing.F) {
	for _, s := range ticketSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		newFuzzApp(t).request(t, http.MethodPost, "/api/tickets", body, http.StatusCreated, http.StatusBadRequest)
	})
}

// FuzzUpdateTicket puts arbitrary bodies to PUT /api/tickets/t1, as its owner.
func FuzzUpdateTicket(f *testing.F) {
	for _, s := range ticketSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		newFuzzApp(t).request(t, http.MethodPut, "/api/tickets/t1", body, http.StatusOK, http.StatusBadRequest)
	})
}

// orderEventSeeds are valid and near-valid payloads of order:created and
// order:cancelled.
var orderEventSeeds = []string{
	`{"id":"o1","version":0,"status":"created","userId":"u2","expiresAt":"2026-11-25T12:15:00Z","ticket":{"id":"t1","price":20}}`,
	`{"id":"o1","version":1,"ticket":{"id":"t1"}}`,
	`{"id":"o1","version":0,"status":"created","userId":"u2","expiresAt":"2026-11-25T12:15:00Z","ticket":{"id":"t1"`,
	`{"id":42,"version":"0","ticket":"t1"}`,
	`{"id":"o1","version":1e30,"ticket":{"id":"t1","price":1e400}}`,
	`{"id":"o1","version":-9223372036854775808,"ticket":{"id":"t1"}}`,
	`{"id":"o1","expiresAt":"not a time","ticket":{"id":"t1"}}`,
	`{"id":"o\u00e9\ud83c\udf9f","ticket":{"id":"t1"}}`,
	`{"id":"o1","ticket":{"id":"nope"}}`,
	`{"id":"","ticket":{"id":"t1"}}`,
	`{"id":"o1"}`,
	`"o1"`,
	`null`,
}

func addDeliverySeeds(f *testing.F, topic events.Topic, payloads []string) {
	for _, p := range payloads {
		f.Add(envelope(topic, string(topic)+"/o1/0", p))
	}
	f.Add([]byte(`{"id":"e1","topic":"` + string(topic) + `"}`)) // no data
	f.Add([]byte(`{"id":["e1"],"data":{}}`))
	f.Add([]byte(`not json`))
}

// FuzzOrderCreatedEvent delivers arbitrary bodies to order:created's route. A
// fresh store holds only a ticket for sale, so nothing can ask for a RETRY.
func FuzzOrderCreatedEvent(f *testing.F) {
	addDeliverySeeds(f, events.OrderCreated, orderEventSeeds)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDeliver[events.OrderCreatedEvent](t, newFuzzApp(t).h, events.OrderCreated, body, false)
	})
}

// FuzzOrderCancelledEvent delivers arbitrary bodies to order:cancelled's route.
func FuzzOrderCancelledEvent(f *testing.F) {
	addDeliverySeeds(f, events.OrderCancelled, orderEventSeeds)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDeliver[events.OrderCancelledEvent](t, newFuzzApp(t).h, events.OrderCancelled, body, false)
	})
}
