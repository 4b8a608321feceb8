package sidecartest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// Request sends a JSON request to h, signed in as userID (a session cookie
// issued with keys) unless userID is "".
func Request(t testing.TB, h http.Handler, keys *auth.Keys, method, path, body, userID string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if userID != "" {
		token, err := keys.Issue(userID, userID+"@example.com")
		if err != nil {
			t.Fatal(err)
		}
		r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: token})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Deliver hands one event to its topic's route on h, as the sidecar would,
// and returns the answer: SUCCESS, RETRY or DROP.
func Deliver(t testing.TB, h http.Handler, m events.Message) string {
	t.Helper()
	data, err := json.Marshal(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	return DeliverRaw(t, h, m.Topic, m.ID, string(data))
}

// DeliverRaw delivers a payload given as raw JSON (malformed ones included).
func DeliverRaw(t testing.TB, h http.Handler, topic events.Topic, id, data string) string {
	t.Helper()
	body := `{"id":"` + id + `","topic":"` + string(topic) + `","type":"com.dapr.event.sent","data":` + data + `}`
	w := Request(t, h, nil, http.MethodPost, topic.Route(), body, "")
	if w.Code != http.StatusOK {
		t.Fatalf("delivery of %s: status %d, want 200", id, w.Code)
	}
	var resp struct{ Status string }
	if err := json.NewDecoder(w.Body).Decode(&resp); err != nil {
		t.Fatalf("delivery of %s: %v", id, err)
	}
	return resp.Status
}

// Settle delivers msgs in the order given and redelivers every RETRY after
// the rest, as the broker does, until all are acknowledged. It fails the test
// if a whole round makes no progress.
func Settle(t testing.TB, h http.Handler, msgs ...events.Message) {
	t.Helper()
	queue := msgs
	for len(queue) > 0 {
		var again []events.Message
		for _, m := range queue {
			switch got := Deliver(t, h, m); got {
			case "SUCCESS":
			case "RETRY":
				again = append(again, m)
			default:
				t.Fatalf("delivery of %s answered %s, want SUCCESS or RETRY", m.ID, got)
			}
		}
		if len(again) == len(queue) {
			t.Fatalf("no progress: %d events keep asking for redelivery", len(again))
		}
		queue = again
	}
}
