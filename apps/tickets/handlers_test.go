package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

func decodeTicket(t *testing.T, w *httptest.ResponseRecorder) ticketResponse {
	t.Helper()
	var got ticketResponse
	if err := json.NewDecoder(w.Body).Decode(&got); err != nil {
		t.Fatalf("ticket body: %v", err)
	}
	return got
}

func TestCreateTicket(t *testing.T) {
	t.Run("lists the ticket and announces it", func(t *testing.T) {
		a := newTestApp(t)
		w := a.do(http.MethodPost, "/api/tickets", `{"title":" Concert ","price":19.99}`, "u1")
		if w.Code != http.StatusCreated {
			t.Fatalf("status = %d, want 201; body %s", w.Code, w.Body)
		}
		got := decodeTicket(t, w)
		want := ticketResponse{ID: got.ID, Title: "Concert", Price: 19.99, UserID: "u1", Version: 0}
		if got != want || len(got.ID) != 24 {
			t.Errorf("body = %+v, want %+v with a 24-digit id", got, want)
		}
		stored := a.ticket(got.ID)
		if stored.Listing != ForSale || stored.OrderID != "" || len(stored.ListedAt) != len(listedAtLayout) {
			t.Errorf("stored %+v, want for sale with a fixed-width listedAt", stored)
		}
		wantEvents := []events.Message{events.TicketCreatedEvent{ID: got.ID, Version: 0, Title: "Concert", Price: 19.99, UserID: "u1"}.Message()}
		if msgs := a.pub.Messages(); !slices.Equal(msgs, wantEvents) {
			t.Errorf("published %+v, want %+v", msgs, wantEvents)
		}
	})

	t.Run("a price as a numeric string is stored and answered as a number", func(t *testing.T) {
		// The original's client formats the price on blur and posts it as text.
		for body, want := range map[string]float64{
			`{"title":"Concert","price":"20.00"}`: 20,
			`{"title":"Concert","price":"19.9"}`:  19.9,
			`{"title":"Concert","price":"1e2"}`:   100,
		} {
			a := newTestApp(t)
			w := a.do(http.MethodPost, "/api/tickets", body, "u1")
			if w.Code != http.StatusCreated {
				t.Fatalf("%s: status = %d, want 201; body %s", body, w.Code, w.Body)
			}
			var raw map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
				t.Fatal(err)
			}
			if got, ok := raw["price"].(float64); !ok || got != want {
				t.Errorf("%s: price answered as %#v, want the number %v", body, raw["price"], want)
			}
			if stored := a.ticket(raw["id"].(string)); stored.Price != want {
				t.Errorf("%s: stored price %v, want %v", body, stored.Price, want)
			}
		}
	})

	t.Run("the body shows only the original's fields", func(t *testing.T) {
		a := newTestApp(t)
		w := a.do(http.MethodPost, "/api/tickets", `{"title":"Concert","price":20}`, "u1")
		var fields map[string]any
		if err := json.NewDecoder(w.Body).Decode(&fields); err != nil {
			t.Fatal(err)
		}
		got := slices.Sorted(maps.Keys(fields))
		if want := []string{"id", "price", "title", "userId", "version"}; !slices.Equal(got, want) {
			t.Errorf("fields = %v, want %v", got, want)
		}
	})

	tests := []struct {
		name       string
		body       string
		userID     string
		wantStatus int
		wantErrors []web.ErrorItem
	}{
		{"signed out", `{"title":"Concert","price":20}`, "", 401, []web.ErrorItem{{Message: "Not authorized"}}},
		{"no title and no price", `{}`, "u1", 400, []web.ErrorItem{{Message: "Price must be greater than 0", Field: "price"}, {Message: "Title is required", Field: "title"}}},
		{"a blank title", `{"title":"   ","price":20}`, "u1", 400, []web.ErrorItem{{Message: "Title is required", Field: "title"}}},
		{"a negative price", `{"title":"Concert","price":-10}`, "u1", 400, []web.ErrorItem{{Message: "Price must be greater than 0", Field: "price"}}},
		{"a price as text", `{"title":"Concert","price":"ten"}`, "u1", 400, []web.ErrorItem{{Message: "Price must be greater than 0", Field: "price"}}},
		{"a price as a boolean", `{"title":"Concert","price":true}`, "u1", 400, []web.ErrorItem{{Message: "Price must be greater than 0", Field: "price"}}},
		{"a price too large for any number", `{"title":"Concert","price":1e400}`, "u1", 400, []web.ErrorItem{{Message: "Price must be greater than 0", Field: "price"}}},
		{"a title that is an object", `{"title":{"a":1},"price":20}`, "u1", 400, []web.ErrorItem{{Message: "Title is required", Field: "title"}}},
		{"a title with control characters", `{"title":"Con\u0007cert","price":20}`, "u1", 400, []web.ErrorItem{{Message: "Title must be plain text of at most 1000 characters", Field: "title"}}},
		{"a title with a NUL", `{"title":"Concert\u0000","price":20}`, "u1", 400, []web.ErrorItem{{Message: "Title must be plain text of at most 1000 characters", Field: "title"}}},
		{"a title that is not UTF-8", "{\"title\":\"Con\xffcert\",\"price\":20}", "u1", 400, []web.ErrorItem{{Message: "Title must be plain text of at most 1000 characters", Field: "title"}}},
		{"a fraction of a cent", `{"title":"Concert","price":1.234}`, "u1", 400, []web.ErrorItem{{Message: "Price must have at most 2 decimal places", Field: "price"}}},
		{"not JSON", `title=Concert`, "u1", 400, []web.ErrorItem{{Message: "Request body must be a JSON object"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			w := a.do(http.MethodPost, "/api/tickets", tt.body, tt.userID)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if got := errorBody(t, w).Errors; !slices.Equal(got, tt.wantErrors) {
				t.Errorf("errors = %+v, want %+v", got, tt.wantErrors)
			}
			if n := len(a.pub.Messages()); n != 0 {
				t.Errorf("published %d events, want none", n)
			}
		})
	}

	t.Run("the store being down is a 503", func(t *testing.T) {
		a := newTestApp(t)
		a.state.FailNext = sidecar.ErrUnavailable
		w := a.do(http.MethodPost, "/api/tickets", `{"title":"Concert","price":20}`, "u1")
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("status = %d, want 503", w.Code)
		}
	})
}

func TestShowTicket(t *testing.T) {
	a := newTestApp(t)
	a.put(Ticket{ID: "t1", Title: "Concert", Price: 20, UserID: "u1", Version: 2, OrderID: "o1"})

	t.Run("a reserved ticket shows its order", func(t *testing.T) {
		w := a.do(http.MethodGet, "/api/tickets/t1", "", "")
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200", w.Code)
		}
		want := ticketResponse{ID: "t1", Title: "Concert", Price: 20, UserID: "u1", Version: 2, OrderID: "o1"}
		if got := decodeTicket(t, w); got != want {
			t.Errorf("body = %+v, want %+v", got, want)
		}
	})
	t.Run("an unknown ticket is a 404", func(t *testing.T) {
		w := a.do(http.MethodGet, "/api/tickets/nope", "", "")
		if w.Code != http.StatusNotFound {
			t.Fatalf("status = %d, want 404", w.Code)
		}
		if got, want := errorBody(t, w).Errors, []web.ErrorItem{{Message: "Not Found"}}; !slices.Equal(got, want) {
			t.Errorf("errors = %+v, want %+v", got, want)
		}
	})
}

// recordingState remembers the last query it ran.
type recordingState struct {
	*sidecartest.State
	mu    sync.Mutex
	query string
}

func (s *recordingState) Query(ctx context.Context, q string) ([]sidecar.Item, string, error) {
	s.mu.Lock()
	s.query = q
	s.mu.Unlock()
	return s.State.Query(ctx, q)
}

func TestListTickets(t *testing.T) {
	t.Run("nothing for sale is an empty array", func(t *testing.T) {
		a := newTestApp(t)
		w := a.do(http.MethodGet, "/api/tickets", "", "")
		if got := strings.TrimSpace(w.Body.String()); w.Code != http.StatusOK || got != "[]" {
			t.Errorf("got %d %s, want 200 []", w.Code, got)
		}
		if link := w.Header().Get("Link"); link != "" {
			t.Errorf("Link = %q, want none", link)
		}
	})

	t.Run("asks the store for tickets for sale, newest listing first", func(t *testing.T) {
		fake := sidecartest.NewState()
		rec := &recordingState{State: fake}
		a := newTestAppOn(t, fake, rec)
		a.do(http.MethodGet, "/api/tickets?limit=7&page=14", "", "")
		var got, want any
		if err := json.Unmarshal([]byte(rec.query), &got); err != nil {
			t.Fatalf("query %q: %v", rec.query, err)
		}
		_ = json.Unmarshal([]byte(`{"filter":{"EQ":{"listing":"for-sale"}},"sort":[{"key":"listedAt","order":"DESC"},{"key":"id","order":"DESC"}],"page":{"limit":7,"token":"14"}}`), &want)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("query = %s, want %v", rec.query, want)
		}
	})

	t.Run("pages through every ticket for sale, and no reserved one", func(t *testing.T) {
		a := newTestApp(t)
		want := listSome(t, a, 7, 3)
		got := pageThrough(t, a, 2)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("listed %v, want each of %v once", got, want)
		}
	})

	// Dapr's SQL stores answer every page with a token, the last included: a
	// short page must still end the chain of Link headers.
	for _, n := range []int{5, 4} {
		t.Run(fmt.Sprintf("%d tickets in pages of 2 from a store that always gives a token", n), func(t *testing.T) {
			fake := sidecartest.NewState()
			a := newTestAppOn(t, fake, &alwaysTokenState{State: fake})
			want := listSome(t, a, n, -1)
			got := pageThrough(t, a, 2)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("listed %v, want each of %v once", got, want)
			}
		})
	}

	t.Run("a page token too long is refused", func(t *testing.T) {
		a := newTestApp(t)
		w := a.do(http.MethodGet, "/api/tickets?page="+strings.Repeat("9", maxTokenLen+1), "", "")
		if w.Code != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400", w.Code)
		}
		want := []web.ErrorItem{{Message: "Page must be the token of a Link header", Field: "page"}}
		if got := errorBody(t, w).Errors; !slices.Equal(got, want) {
			t.Errorf("errors = %+v, want %+v", got, want)
		}
	})

	for _, limit := range []string{"0", "-1", "201", "ten", "1.5"} {
		t.Run("limit "+limit+" is refused", func(t *testing.T) {
			a := newTestApp(t)
			w := a.do(http.MethodGet, "/api/tickets?limit="+url.QueryEscape(limit), "", "")
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400", w.Code)
			}
			want := []web.ErrorItem{{Message: "Limit must be a whole number from 1 to 200", Field: "limit"}}
			if got := errorBody(t, w).Errors; !slices.Equal(got, want) {
				t.Errorf("errors = %+v, want %+v", got, want)
			}
		})
	}
}

// listSome lists n tickets, and has an order take the one at index reserve
// (none if negative); it returns the ids of those still for sale, sorted.
func listSome(t *testing.T, a *testApp, n, reserve int) []string {
	t.Helper()
	var forSale []string
	for i := range n {
		w := a.do(http.MethodPost, "/api/tickets", fmt.Sprintf(`{"title":"Show %d","price":10}`, i), "u1")
		id := decodeTicket(t, w).ID
		if i == reserve {
			a.settle(events.OrderCreatedEvent{ID: "o1", Ticket: events.OrderTicket{ID: id}}.Message())
			continue
		}
		forSale = append(forSale, id)
	}
	slices.Sort(forSale)
	return forSale
}

// pageThrough follows the Link headers from the first page and returns every
// id listed, checking each page's size.
func pageThrough(t *testing.T, a *testApp, limit int) []string {
	t.Helper()
	var ids []string
	next := fmt.Sprintf("/api/tickets?limit=%d", limit)
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("the Link headers never end")
		}
		w := a.do(http.MethodGet, next, "", "")
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d", next, w.Code)
		}
		var page []ticketResponse
		if err := json.NewDecoder(w.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
		if len(page) > limit {
			t.Errorf("GET %s: %d tickets, want at most %d", next, len(page), limit)
		}
		for _, tk := range page {
			ids = append(ids, tk.ID)
		}
		next = nextURL(t, w.Header().Get("Link"))
	}
	return ids
}

// alwaysTokenState pages like Dapr's SQL stores: the token is the next
// offset, given with every page, the last included.
type alwaysTokenState struct{ *sidecartest.State }

func (s *alwaysTokenState) Query(ctx context.Context, q string) ([]sidecar.Item, string, error) {
	items, _, err := s.State.Query(ctx, q)
	var page struct {
		Page struct{ Token string } `json:"page"`
	}
	_ = json.Unmarshal([]byte(q), &page)
	offset, _ := strconv.Atoi(page.Page.Token)
	return items, strconv.Itoa(offset + len(items)), err
}

var linkPattern = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// nextURL reads the target of an RFC 8288 rel="next" link, or "" when there is none.
func nextURL(t *testing.T, link string) string {
	t.Helper()
	if link == "" {
		return ""
	}
	m := linkPattern.FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("Link = %q, want <url>; rel=\"next\"", link)
	}
	return m[1]
}

func TestNextLink(t *testing.T) {
	got := nextLink(50, "a token/with&odd=chars")
	want := `</api/tickets?limit=50&page=a+token%2Fwith%26odd%3Dchars>; rel="next"`
	if got != want {
		t.Errorf("nextLink() = %s, want %s", got, want)
	}
}

func TestUpdateTicket(t *testing.T) {
	free := Ticket{ID: "t1", Title: "Concert", Price: 20, UserID: "owner", Version: 0, Listing: ForSale}
	reserved := Ticket{ID: "t2", Title: "Opera", Price: 30, UserID: "owner", Version: 1, OrderID: "o1", Listing: Reserved}
	tests := []struct {
		name       string
		path       string
		body       string
		userID     string
		wantStatus int
		wantErrors []web.ErrorItem
	}{
		{"signed out", "/api/tickets/t1", `{"title":"New","price":25}`, "", 401, []web.ErrorItem{{Message: "Not authorized"}}},
		{"invalid input on an unknown ticket: invalid first", "/api/tickets/nope", `{"title":"","price":25}`, "owner", 400, []web.ErrorItem{{Message: "Title is required", Field: "title"}}},
		{"an unknown ticket", "/api/tickets/nope", `{"title":"New","price":25}`, "owner", 404, []web.ErrorItem{{Message: "Not Found"}}},
		{"a reserved ticket, by someone else: reserved first", "/api/tickets/t2", `{"title":"New","price":25}`, "intruder", 400, []web.ErrorItem{{Message: "Cannot edit a reserved ticket"}}},
		{"a reserved ticket, by its owner", "/api/tickets/t2", `{"title":"New","price":25}`, "owner", 400, []web.ErrorItem{{Message: "Cannot edit a reserved ticket"}}},
		{"someone else's ticket", "/api/tickets/t1", `{"title":"New","price":25}`, "intruder", 401, []web.ErrorItem{{Message: "Not authorized"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			a.put(free)
			a.put(reserved)
			w := a.do(http.MethodPut, tt.path, tt.body, tt.userID)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if got := errorBody(t, w).Errors; !slices.Equal(got, tt.wantErrors) {
				t.Errorf("errors = %+v, want %+v", got, tt.wantErrors)
			}
			if a.ticket("t1") != free || a.ticket("t2") != reserved {
				t.Errorf("a refused edit changed a ticket")
			}
			if n := len(a.pub.Messages()); n != 0 {
				t.Errorf("published %d events, want none", n)
			}
		})
	}

	t.Run("the owner's edit is the next version, announced", func(t *testing.T) {
		a := newTestApp(t)
		a.put(free)
		w := a.do(http.MethodPut, "/api/tickets/t1", `{"title":"Opera","price":25.5}`, "owner")
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
		}
		want := ticketResponse{ID: "t1", Title: "Opera", Price: 25.5, UserID: "owner", Version: 1}
		if got := decodeTicket(t, w); got != want {
			t.Errorf("body = %+v, want %+v", got, want)
		}
		wantEvents := []events.Message{events.TicketUpdatedEvent{ID: "t1", Version: 1, Title: "Opera", Price: 25.5, UserID: "owner"}.Message()}
		if got := a.pub.Messages(); !slices.Equal(got, wantEvents) {
			t.Errorf("published %+v, want %+v", got, wantEvents)
		}
	})

	t.Run("a lost race is retried from a fresh read", func(t *testing.T) {
		a := newTestApp(t)
		a.put(free)
		a.state.FailNext = sidecar.ErrConflict
		w := a.do(http.MethodPut, "/api/tickets/t1", `{"title":"Opera","price":25}`, "owner")
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200", w.Code)
		}
		if got := a.ticket("t1"); got.Version != 1 || got.Title != "Opera" {
			t.Errorf("stored %+v, want version 1 titled Opera", got)
		}
	})

	t.Run("an edit racing a reservation sees the reservation", func(t *testing.T) {
		fake := sidecartest.NewState()
		st := &interleavingState{State: fake}
		a := newTestAppOn(t, fake, st)
		a.put(free)
		st.before = func() {
			if got := a.deliver(events.OrderCreatedEvent{ID: "o9", Ticket: events.OrderTicket{ID: "t1"}}.Message()); got != "SUCCESS" {
				t.Errorf("order:created answered %s, want SUCCESS", got)
			}
		}
		w := a.do(http.MethodPut, "/api/tickets/t1", `{"title":"Opera","price":25}`, "owner")
		if w.Code != http.StatusBadRequest {
			t.Fatalf("status = %d, want 400 (reserved)", w.Code)
		}
		if got := a.ticket("t1"); got.OrderID != "o9" || got.Title != "Concert" {
			t.Errorf("stored %+v, want held by o9 and unedited", got)
		}
	})

	t.Run("races lost again and again are a 409", func(t *testing.T) {
		fake := sidecartest.NewState()
		st := &conflictingState{State: fake}
		a := newTestAppOn(t, fake, st)
		a.put(free)
		w := a.do(http.MethodPut, "/api/tickets/t1", `{"title":"Opera","price":25}`, "owner")
		if w.Code != http.StatusConflict {
			t.Fatalf("status = %d, want 409", w.Code)
		}
		if st.writes != store.Attempts {
			t.Errorf("tried %d writes, want %d", st.writes, store.Attempts)
		}
	})
}

func TestHealth(t *testing.T) {
	a := newTestApp(t)
	if w := a.do(http.MethodGet, "/healthz", "", ""); w.Code != http.StatusOK {
		t.Errorf("GET /healthz: status %d, want 200", w.Code)
	}
}
