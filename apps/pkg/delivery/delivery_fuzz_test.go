package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// FuzzDeliveries delivers arbitrary bodies to Deliveries whose handler
// decodes the payload with DecodeData, as every service's handlers do. The
// answer is always 200 with SUCCESS, RETRY or DROP; an envelope or a payload
// that does not decode is a DROP, never a RETRY (it could never succeed).
func FuzzDeliveries(f *testing.F) {
	valid := `{"id":"order:created/o1/0","topic":"order:created","type":"com.dapr.event.sent","data":` +
		`{"id":"o1","version":0,"status":"created","userId":"u1","expiresAt":"2026-11-25T12:15:00Z","ticket":{"id":"t1","price":20.5}}}`
	for _, seed := range []string{
		valid,
		valid[:len(valid)-20],
		`{"id":"e1","topic":"order:created","data":{"id":42,"version":"0"}}`,
		`{"id":"e1","topic":"order:created","data":{"id":"o1","version":1e30}}`,
		`{"id":"e1","topic":"order:created","data":{"id":"o1","expiresAt":"tomorrow"}}`,
		`{"id":"e1","topic":"order:created","data":"o1"}`,
		`{"id":"e1","topic":"order:created","data":null}`,
		`{"id":"e1","topic":"order:created"}`,
		`{"id":["e1"],"data":{}}`,
		`{"id":"\u00e9v\u00e9nement \ud83c\udf9f","topic":"order:created","data":{"id":"o\u0000","ticket":{"id":"t1"}}}`,
		`{"id":"retry","topic":"order:created","data":{"id":"retry","ticket":{"id":"t1"}}}`,
		`not json`,
		``,
		`{"id":"b1","entries":[{"entryId":"1","event":` + valid + `},{"entryId":"2","event":{"id":"retry","topic":"order:created","data":{"id":"retry"}}},{"entryId":"3","event":7}]}`,
		`{"id":"b1","entries":[]}`,
		`{"entries":[{"entryId":"1"}]}`,
	} {
		f.Add([]byte(seed))
	}
	handle := func(e delivery.Event) error {
		ev, err := delivery.DecodeData[events.OrderCreatedEvent](e)
		if err != nil {
			return err
		}
		if ev.ID == "retry" {
			return errors.New("the store is down") // a transient failure
		}
		return nil
	}
	h := delivery.Deliveries(slog.New(slog.DiscardHandler), func(_ context.Context, es []delivery.Event) []error {
		errs := make([]error, len(es))
		for i, e := range es {
			errs[i] = handle(e)
		}
		return errs
	})
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, events.OrderCreated.Route(), bytes.NewReader(body)))
		var bulk struct{ Entries []json.RawMessage }
		if json.Unmarshal(body, &bulk) == nil && bulk.Entries != nil {
			bulkStatuses(t, w, len(bulk.Entries))
			return
		}
		status := deliveryStatus(t, w)
		var e delivery.Event
		if json.Unmarshal(body, &e) != nil {
			if status != "DROP" {
				t.Fatalf("undecodable delivery %q answered %s, want DROP", body, status)
			}
			return
		}
		var ev events.OrderCreatedEvent
		if json.Unmarshal(e.Data, &ev) != nil && status != "DROP" {
			t.Fatalf("undecodable payload %q answered %s, want DROP", e.Data, status)
		}
	})
}

// FuzzDecodeData: a payload either decodes or is a Drop error, never a panic.
func FuzzDecodeData(f *testing.F) {
	for _, seed := range []string{
		`{"id":"t1","version":3,"title":"Concert","price":20.5,"userId":"u1","orderId":"o1"}`,
		`{"id":"t1","version":3,"title":"Conc`,
		`{"id":"t1","version":"3"}`,
		`{"id":"t1","version":99999999999999999999}`,
		`{"id":"t1","price":-1e308,"title":"\ud800"}`,
		`null`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := delivery.DecodeData[events.TicketUpdatedEvent](delivery.Event{ID: "e1", Topic: string(events.TicketUpdated), Data: data})
		if err != nil && !delivery.IsDrop(err) {
			t.Fatalf("payload %q: %v, want a Drop error", data, err)
		}
		if err == nil && !json.Valid(data) {
			t.Fatalf("payload %q is not JSON, yet decoded", data)
		}
	})
}

// deliveryStatus checks a delivery's answer: 200 {"status": SUCCESS|RETRY|DROP}.
func deliveryStatus(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
	}
	var resp struct{ Status string }
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("answer %q: %v", w.Body, err)
	}
	switch resp.Status {
	case "SUCCESS", "RETRY", "DROP":
	default:
		t.Fatalf("answer %q, want SUCCESS, RETRY or DROP", w.Body)
	}
	return resp.Status
}

// bulkStatuses checks a bulk delivery's answer: 200 with one status (SUCCESS,
// RETRY or DROP) per entry.
func bulkStatuses(t *testing.T, w *httptest.ResponseRecorder, entries int) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
	}
	var resp struct {
		Statuses []struct{ EntryID, Status string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("answer %q: %v", w.Body, err)
	}
	if len(resp.Statuses) != entries {
		t.Fatalf("answer %q: %d statuses for %d entries", w.Body, len(resp.Statuses), entries)
	}
	for _, s := range resp.Statuses {
		switch s.Status {
		case "SUCCESS", "RETRY", "DROP":
		default:
			t.Fatalf("answer %q, want SUCCESS, RETRY or DROP for every entry", w.Body)
		}
	}
}
