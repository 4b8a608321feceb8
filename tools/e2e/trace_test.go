package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// spans is a Zipkin v2 span receiver: the mesh's sidecars export every span
// to it (mesh.Options.ZipkinURL), and the tests read what arrived.
type spans struct {
	srv *httptest.Server
	mu  sync.Mutex
	all []span
}

type span struct {
	TraceID       string `json:"traceId"`
	ID            string `json:"id"`
	ParentID      string `json:"parentId"`
	Name          string `json:"name"`
	LocalEndpoint struct {
		ServiceName string `json:"serviceName"`
	} `json:"localEndpoint"`
}

func newSpans() *spans {
	s := &spans{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var got []span
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.all = append(s.all, got...)
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	return s
}

// url is where the sidecars post their spans.
func (s *spans) url() string { return s.srv.URL + "/api/v2/spans" }

// services returns, for each service, the names of its spans in the trace.
func (s *spans) services(traceID string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for _, sp := range s.all {
		if sp.TraceID == traceID {
			out[sp.LocalEndpoint.ServiceName] = append(out[sp.LocalEndpoint.ServiceName], sp.Name)
		}
	}
	return out
}

// One trace per purchase: the order request's trace id reaches every
// service the order's events reach (through the outbox, the broker and the
// batches) and every owner it asks (tickets, through the sidecars), and the
// payment continues it (payments runs a purchase's payment under the trace
// orders kept with the order), so all their spans join the request's.
func TestAPurchasesTraceFollowsItsEventsAndItsPayment(t *testing.T) {
	seller, buyer := signedUp(t), signedUp(t)
	tk := listTicket(t, seller, "Traced show", 17)
	traceID := fmt.Sprintf("%016x%016x", time.Now().UnixNano(), seq.Add(1))
	h := http.Header{"Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}}
	var o order
	buyer.doWith("POST", "/api/orders", map[string]string{"ticketId": tk.ID}, h).want(t, 201).json(t, &o)
	buyer.do("POST", "/api/payments", map[string]string{"token": "tok_visa", "orderId": o.ID}).want(t, 201)

	want := []string{"orders", "tickets", "payments", "expiration"}
	var got map[string][]string
	eventually(t, 30*time.Second, "spans of "+fmt.Sprint(want)+" under the order's trace", func() bool {
		got = tracer.services(traceID)
		for _, svc := range want {
			if len(got[svc]) == 0 {
				return false
			}
		}
		return true
	})
	for _, svc := range want {
		slices.Sort(got[svc])
		t.Logf("%s: %v", svc, slices.Compact(got[svc]))
	}
}
