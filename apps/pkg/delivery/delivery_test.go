package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/delivery"
)

// outcomes answers by event id: "drop-..." is dropped, "retry-..." retried,
// anything else handled; it records the batches it was given.
type outcomes struct{ batches [][]string }

func (o *outcomes) handle(_ context.Context, es []delivery.Event) []error {
	var ids []string
	errs := make([]error, len(es))
	for i, e := range es {
		ids = append(ids, e.ID)
		switch {
		case strings.HasPrefix(e.ID, "drop-"):
			errs[i] = delivery.Drop(errors.New("never"))
		case strings.HasPrefix(e.ID, "retry-"):
			errs[i] = errors.New("not yet")
		}
	}
	o.batches = append(o.batches, ids)
	return errs
}

func post(t *testing.T, h http.Handler, body string) map[string]any {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/events/order-created", strings.NewReader(body)))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("answer %q: %v", w.Body, err)
	}
	return got
}

func TestABulkDeliveryIsOneBatchAnsweredPerEntry(t *testing.T) {
	var o outcomes
	h := delivery.Deliveries(slog.New(slog.DiscardHandler), o.handle)
	got := post(t, h, `{"id":"b1","topic":"order:created","pubsubname":"p","type":"com.dapr.event.sent","entries":[
		{"entryId":"1","event":{"id":"ok-1","topic":"order:created","data":{}},"contentType":"application/cloudevents+json"},
		{"entryId":"2","event":{"id":"retry-2","topic":"order:created","data":{}}},
		{"entryId":"3","event":"not a cloud event"},
		{"entryId":"4","event":{"id":"drop-4","topic":"order:created","data":{}}}]}`)
	want := `{"statuses":[{"entryId":"1","status":"SUCCESS"},{"entryId":"2","status":"RETRY"},{"entryId":"3","status":"DROP"},{"entryId":"4","status":"DROP"}]}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("answer %s, want %s", b, want)
	}
	if len(o.batches) != 1 || len(o.batches[0]) != 3 {
		t.Errorf("handler saw %v, want one batch of the three decodable events", o.batches)
	}
}

func TestASingleDeliveryIsABatchOfOne(t *testing.T) {
	for id, want := range map[string]string{"ok-1": "SUCCESS", "retry-1": "RETRY", "drop-1": "DROP"} {
		var o outcomes
		h := delivery.Deliveries(slog.New(slog.DiscardHandler), o.handle)
		got := post(t, h, `{"id":"`+id+`","topic":"order:created","data":{}}`)
		if got["status"] != want {
			t.Errorf("%s answered %v, want %s", id, got, want)
		}
		if len(o.batches) != 1 || len(o.batches[0]) != 1 {
			t.Errorf("%s: handler saw %v, want one batch of one", id, o.batches)
		}
	}
}

func TestEveryEventOfABulkDeliveryKeepsItsOwnTrace(t *testing.T) {
	var traces []string
	h := delivery.Deliveries(slog.New(slog.DiscardHandler), func(_ context.Context, es []delivery.Event) []error {
		for _, e := range es {
			traces = append(traces, e.TraceParent)
		}
		return make([]error, len(es))
	})
	a := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	b := "00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01"
	post(t, h, `{"id":"b1","entries":[{"entryId":"1","event":{"id":"e1","traceparent":"`+a+`","data":{}}},{"entryId":"2","event":{"id":"e2","traceparent":"`+b+`","data":{}}}]}`)
	if len(traces) != 2 || traces[0] != a || traces[1] != b {
		t.Errorf("traces %v, want [%s %s]", traces, a, b)
	}
}
