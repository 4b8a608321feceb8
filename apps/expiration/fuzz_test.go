package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// The fuzz targets drive the real server (newServer) over a fresh in-memory
// store per input, holding the schedules of "o1" (scheduled) and "o2"
// (cancelled), with reminders that always register. Deliveries are always
// answered 200 with SUCCESS, RETRY or DROP, one that cannot decode is a DROP,
// and with nothing failing nothing asks for a RETRY; the actor endpoints never
// answer a 5xx (a panic is recovered as a 500, so it counts as one).

// fuzzReminders accepts every registration, as a healthy scheduler does.
type fuzzReminders struct{}

func (fuzzReminders) register(context.Context, string, string, string, time.Time) error { return nil }

var fuzzSchedules = []schedule{
	{OrderID: "o1", ExpiresAt: time.Date(2026, 11, 25, 12, 15, 0, 0, time.UTC), Status: statusScheduled},
	{OrderID: "o2", ExpiresAt: time.Date(2026, 11, 25, 12, 15, 0, 0, time.UTC), Status: statusCancelled},
}

func newFuzzServer(t *testing.T) http.Handler {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	state := sidecartest.NewState()
	for _, sc := range fuzzSchedules {
		if err := state.Transact(context.Background(), sidecar.Op{Key: scheduleKey(sc.OrderID), Value: sc}); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s := newScheduler(log, store.New(state, &sidecartest.Publisher{}, log), fuzzReminders{}, cfg)
	return newServer(log, cfg, s)
}

// fuzzDeliver hands body to topic's route as the sidecar would and checks the
// answer: 200 with SUCCESS or DROP (nothing here fails, so never RETRY); DROP
// when the envelope or its payload (a T) does not decode.
func fuzzDeliver[T any](t *testing.T, h http.Handler, topic events.Topic, body []byte) {
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
	if resp.Status != "SUCCESS" && resp.Status != "DROP" {
		t.Fatalf("delivery %q: answer %q, want SUCCESS or DROP", body, w.Body)
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

func addDeliverySeeds(f *testing.F, topic events.Topic, payloads []string) {
	for _, p := range payloads {
		f.Add(envelope(topic, string(topic)+"/x/0", p))
	}
	f.Add([]byte(`{"id":"e1","topic":"` + string(topic) + `"}`)) // no data
	f.Add([]byte(`{"id":["e1"],"data":{}}`))
	f.Add([]byte(`not json`))
}

// orderEventSeeds are valid and near-valid payloads of order:created and
// order:cancelled.
var orderEventSeeds = []string{
	`{"id":"o9","version":0,"status":"created","userId":"u2","expiresAt":"2026-11-25T12:15:00Z","ticket":{"id":"t1","price":20.5}}`,
	`{"id":"o1","version":1,"ticket":{"id":"t1"}}`,
	`{"id":"o2","version":0,"expiresAt":"2026-11-25T12:15:00Z","ticket":{"id":"t1"}}`,
	`{"id":"o9","version":0,"status":"created","userId":"u2","expiresAt":"2026-11-25T12:15:00Z","ticket":{"id":"t1"`,
	`{"id":42,"version":"0","expiresAt":1764072900}`,
	`{"id":"o9","expiresAt":"tomorrow"}`,
	`{"id":"o9","expiresAt":"0001-01-01T00:00:00Z"}`,
	`{"id":"o9","expiresAt":"9999-12-31T23:59:59.999999999-23:59"}`,
	`{"id":"o9","expiresAt":"0000-01-01T00:00:00+23:59"}`,
	`{"id":"o9","version":1e400,"expiresAt":"2026-11-25T12:15:00Z"}`,
	`{"id":"o\u00e9\ud83c\udf9f/..","expiresAt":"2026-11-25T12:15:00Z"}`,
	`{"id":"","expiresAt":"2026-11-25T12:15:00Z"}`,
	`"o1"`,
	`null`,
}

// FuzzOrderCreatedEvent delivers arbitrary bodies to order:created's route.
func FuzzOrderCreatedEvent(f *testing.F) {
	addDeliverySeeds(f, events.OrderCreated, orderEventSeeds)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDeliver[events.OrderCreatedEvent](t, newFuzzServer(t), events.OrderCreated, body)
	})
}

// FuzzOrderCancelledEvent delivers arbitrary bodies to order:cancelled's route.
func FuzzOrderCancelledEvent(f *testing.F) {
	addDeliverySeeds(f, events.OrderCancelled, orderEventSeeds)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDeliver[events.OrderCancelledEvent](t, newFuzzServer(t), events.OrderCancelled, body)
	})
}

// FuzzReminder calls the actor reminder endpoint,
// PUT /actors/{type}/{id}/method/remind/expire, with any actor type, order id
// and body, as Dapr's scheduler does (the body, Dapr's reminder with its
// dueTime and data, is not needed, and must not matter). A reminder of an
// OrderExpiration or an ExpirationSlot actor is a 200 for any id that is one
// path segment; no request is ever a 5xx.
func FuzzReminder(f *testing.F) {
	for _, s := range []struct{ typ, id, body string }{
		{slotActor, "1764072000000", `{"dueTime":"0s"}`},
		{slotActor, "not-a-slot", ``},
		{orderActor, "o1", `{"data":null,"dueTime":"0s","period":""}`},
		{orderActor, "o2", `{"data":"eyJvcmRlcklkIjoibzIifQ==","dueTime":"2026-11-25T12:15:00Z","period":"","ttl":""}`},
		{orderActor, "o9", `{"dueTime":0,"period":[]}`},
		{orderActor, "o9", `{"dueTime":"0s"`},
		{orderActor, "o\u00e9\U0001f39f", ``},
		{orderActor, "o1/../o2", `null`},
		{orderActor, "..", `{}`},
		{orderActor, "%2F", `{}`},
		{"Other", "o1", `{"dueTime":"0s"}`},
		{"", "", ``},
	} {
		f.Add(s.typ, s.id, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, typ, id string, body []byte) {
		path := "/actors/" + url.PathEscape(typ) + "/" + url.PathEscape(id) + "/method/remind/" + orderReminder
		r := httptest.NewRequest(http.MethodPut, path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		newFuzzServer(t).ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("PUT %s %q: status %d: %s", path, body, w.Code, w.Body)
		}
		oneSegment := func(s string) bool { return s != "" && s != "." && s != ".." && !strings.Contains(s, "/") }
		if (typ == orderActor || typ == slotActor) && oneSegment(id) && w.Code != http.StatusOK {
			t.Fatalf("PUT %s %q: status %d, want 200: %s", path, body, w.Code, w.Body)
		}
	})
}
