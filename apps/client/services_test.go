package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// stubSidecar stands in for the client's Dapr sidecar: it answers service
// invocations by app id, method and path with canned replies, and records
// every call. An unexpected call fails the test.
type stubSidecar struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	replies map[string][]stubReply
	calls   []stubCall
}

type stubReply struct {
	status int
	body   string
	header []string // name, value pairs
	hang   bool     // answer only when the caller gives up
}

type stubCall struct {
	app, method, uri, body string
	header                 http.Header
}

// String is how tests name a call: `tickets POST /api/tickets {"title":...}`.
func (c stubCall) String() string {
	return strings.TrimSpace(c.app + " " + c.method + " " + c.uri + " " + c.body)
}

func newStubSidecar(t *testing.T) *stubSidecar {
	t.Helper()
	s := &stubSidecar{t: t, replies: map[string][]stubReply{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// on sets the reply to `app METHOD /path` (the path without its query).
func (s *stubSidecar) on(app, method, path string, status int, body string, header ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies[app+" "+method+" "+path] = []stubReply{{status: status, body: body, header: header}}
}

// onEach sets replies to `app METHOD /path`, one per call; the last one stays.
func (s *stubSidecar) onEach(app, method, path string, replies ...stubReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies[app+" "+method+" "+path] = replies
}

// hang makes `app METHOD /path` never answer in time.
func (s *stubSidecar) hang(app, method, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies[app+" "+method+" "+path] = []stubReply{{hang: true}}
}

func (s *stubSidecar) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	call := stubCall{app: r.Header.Get("dapr-app-id"), method: r.Method, uri: r.URL.RequestURI(), body: string(body), header: r.Header.Clone()}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	key := call.app + " " + r.Method + " " + r.URL.Path
	replies, ok := s.replies[key]
	var reply stubReply
	if ok {
		reply = replies[0]
		if len(replies) > 1 {
			s.replies[key] = replies[1:]
		}
	}
	s.mu.Unlock()
	if !ok {
		s.t.Errorf("unexpected call to the sidecar: %s", call)
		http.Error(w, `{"errorCode":"ERR_DIRECT_INVOKE","message":"no stub"}`, http.StatusInternalServerError)
		return
	}
	if reply.hang {
		<-r.Context().Done()
		return
	}
	for i := 0; i+1 < len(reply.header); i += 2 {
		w.Header().Add(reply.header[i], reply.header[i+1])
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(reply.status)
	_, _ = io.WriteString(w, reply.body)
}

func (s *stubSidecar) recorded() []stubCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stubCall(nil), s.calls...)
}

// browserRequest is a page request as a browser behind the gateway sends it.
func browserRequest(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.Header.Set("Cookie", "session=abc; theme=dark")
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	r.Header.Set("X-Forwarded-Proto", "https")
	return r
}

func TestServicesCallTheirAppThroughTheSidecar(t *testing.T) {
	const orderJSON = `{"id":"o1","userId":"u1","status":"created","expiresAt":"2026-01-02T15:19:00Z","ticket":{"id":"t1","title":"Concert","price":12.5,"version":0},"version":0}`
	const ticketJSON = `{"id":"t1","title":"Concert","price":12.5,"userId":"u1","version":0}`
	cases := []struct {
		name     string
		app      string
		method   string
		path     string
		status   int
		reply    string
		call     func(*services, *http.Request) (any, error)
		wantCall string
		want     any
	}{
		{"current user", appAuth, "GET", "/api/users/currentuser", 200, `{"currentUser":{"id":"u1","email":"ann@example.com","iat":7}}`,
			func(s *services, r *http.Request) (any, error) { return s.currentUser(r) },
			"auth GET /api/users/currentuser", &user{ID: "u1", Email: "ann@example.com", IssuedAt: 7}},
		{"nobody signed in", appAuth, "GET", "/api/users/currentuser", 200, `{"currentUser":null}`,
			func(s *services, r *http.Request) (any, error) { return s.currentUser(r) },
			"auth GET /api/users/currentuser", (*user)(nil)},
		{"sign up", appAuth, "POST", "/api/users/signup", 201, `{"id":"u1","email":"ann@example.com"}`,
			func(s *services, r *http.Request) (any, error) {
				return s.signup(r, credentials{Email: "ann@example.com", Password: "secret"})
			},
			`auth POST /api/users/signup {"email":"ann@example.com","password":"secret"}`, []string(nil)},
		{"one ticket", appTickets, "GET", "/api/tickets/t1", 200, ticketJSON,
			func(s *services, r *http.Request) (any, error) { return s.ticket(r, "t1") },
			"tickets GET /api/tickets/t1", ticket{ID: "t1", Title: "Concert", Price: 12.5, UserID: "u1"}},
		{"an id is escaped into the path", appTickets, "GET", "/api/tickets/a b", 200, ticketJSON,
			func(s *services, r *http.Request) (any, error) { return s.ticket(r, "a b") },
			"tickets GET /api/tickets/a%20b", ticket{ID: "t1", Title: "Concert", Price: 12.5, UserID: "u1"}},
		{"list a ticket", appTickets, "POST", "/api/tickets", 201, ticketJSON,
			func(s *services, r *http.Request) (any, error) {
				return s.createTicket(r, ticketInput{Title: "Concert", Price: 12.5})
			},
			`tickets POST /api/tickets {"title":"Concert","price":12.5}`, ticket{ID: "t1", Title: "Concert", Price: 12.5, UserID: "u1"}},
		{"edit a ticket", appTickets, "PUT", "/api/tickets/t1", 200, ticketJSON,
			func(s *services, r *http.Request) (any, error) {
				return s.updateTicket(r, "t1", ticketInput{Title: "Concert", Price: 12.5})
			},
			`tickets PUT /api/tickets/t1 {"title":"Concert","price":12.5}`, ticket{ID: "t1", Title: "Concert", Price: 12.5, UserID: "u1"}},
		{"order a ticket", appOrders, "POST", "/api/orders", 201, orderJSON,
			func(s *services, r *http.Request) (any, error) {
				o, err := s.createOrder(r, "t1")
				return o.ID + " " + o.Status + " " + o.ExpiresAt.Format(time.RFC3339) + " " + o.Ticket.Title, err
			},
			`orders POST /api/orders {"ticketId":"t1"}`, "o1 created 2026-01-02T15:19:00Z Concert"},
		{"my orders", appOrders, "GET", "/api/orders", 200, "[" + orderJSON + "]",
			func(s *services, r *http.Request) (any, error) {
				list, err := s.orders(r)
				return len(list), err
			},
			"orders GET /api/orders", 1},
		{"cancel an order", appOrders, "DELETE", "/api/orders/o1", 204, "",
			func(s *services, r *http.Request) (any, error) { return nil, s.cancelOrder(r, "o1") },
			"orders DELETE /api/orders/o1", nil},
		{"pay", appPayments, "POST", "/api/payments", 201, `{"id":"p1"}`,
			func(s *services, r *http.Request) (any, error) { return s.pay(r, "o1", "tok_visa") },
			`payments POST /api/payments {"orderId":"o1","token":"tok_visa"}`, payment{ID: "p1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := newStubSidecar(t)
			stub.on(tc.app, tc.method, tc.path, tc.status, tc.reply)
			svc := newServices(stub.srv.URL, time.Second)

			got, err := tc.call(svc, browserRequest("GET", "/", nil))
			if err != nil {
				t.Fatalf("call failed: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
			calls := stub.recorded()
			if len(calls) != 1 {
				t.Fatalf("sidecar got %d calls %v, want 1", len(calls), calls)
			}
			c := calls[0]
			if c.String() != tc.wantCall {
				t.Errorf("call %s, want %s", c, tc.wantCall)
			}
			for name, want := range map[string]string{
				"Cookie":            "session=abc; theme=dark",
				"X-Forwarded-For":   "203.0.113.7",
				"X-Forwarded-Proto": "https",
				"Accept":            "application/json",
			} {
				if got := c.header.Get(name); got != want {
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
			if wantType := map[bool]string{true: "application/json", false: ""}[c.body != ""]; c.header.Get("Content-Type") != wantType {
				t.Errorf("Content-Type = %q, want %q", c.header.Get("Content-Type"), wantType)
			}
		})
	}
}

func TestSigninRelaysEverySetCookie(t *testing.T) {
	stub := newStubSidecar(t)
	stub.on(appAuth, "POST", "/api/users/signin", 200, `{"id":"u1"}`,
		"Set-Cookie", "session=tok; Path=/; HttpOnly; SameSite=Lax", "Set-Cookie", "other=1")
	got, err := newServices(stub.srv.URL, time.Second).signin(browserRequest("POST", "/", nil), credentials{Email: "a@b.co", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"session=tok; Path=/; HttpOnly; SameSite=Lax", "other=1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cookies %q, want %q", got, want)
	}
}

func TestListTicketsFollowsTheLinkHeader(t *testing.T) {
	cases := []struct {
		name     string
		page     string
		link     []string
		wantURI  string
		wantNext string
	}{
		{"first page with a next page", "", []string{`</api/tickets?limit=20&page=tok%2B1>; rel="next"`},
			"tickets GET /api/tickets?limit=20", "tok+1"},
		{"a later page", "tok+1", []string{`</api/tickets?limit=20&page=tok2>; rel="next"`},
			"tickets GET /api/tickets?limit=20&page=tok%2B1", "tok2"},
		{"the last page", "tok2", nil, "tickets GET /api/tickets?limit=20&page=tok2", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := newStubSidecar(t)
			var header []string
			for _, l := range tc.link {
				header = append(header, "Link", l)
			}
			stub.on(appTickets, "GET", "/api/tickets", 200, `[{"id":"t1","title":"Concert","price":12.5}]`, header...)
			list, next, err := newServices(stub.srv.URL, time.Second).listTickets(browserRequest("GET", "/", nil), 20, tc.page)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].Title != "Concert" {
				t.Errorf("tickets %+v, want the one Concert", list)
			}
			if next != tc.wantNext {
				t.Errorf("next page %q, want %q", next, tc.wantNext)
			}
			if calls := stub.recorded(); len(calls) != 1 || calls[0].String() != tc.wantURI {
				t.Errorf("calls %v, want %s", calls, tc.wantURI)
			}
		})
	}
}

func TestNextPage(t *testing.T) {
	cases := []struct {
		name  string
		links []string
		want  string
	}{
		{"none", nil, ""},
		{"next", []string{`</api/tickets?limit=5&page=abc>; rel="next"`}, "abc"},
		{"unquoted rel", []string{`</api/tickets?page=abc>;rel=next`}, "abc"},
		{"among others in one value", []string{`</api/tickets?page=p0>; rel="prev", </api/tickets?page=n1>; rel="next"`}, "n1"},
		{"in a second value", []string{`</api/tickets?page=p0>; rel="prev"`, `</api/tickets?page=n1>; rel="next last"`}, "n1"},
		{"not next", []string{`</api/tickets?page=p0>; rel="prev"`}, ""},
		{"malformed", []string{`/api/tickets?page=abc; rel="next"`}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextPage(tc.links); got != tc.want {
				t.Errorf("nextPage(%q) = %q, want %q", tc.links, got, tc.want)
			}
		})
	}
}

func TestServiceErrorsAreTyped(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   serviceError
	}{
		{"fields and general problems", 400,
			`{"errors":[{"message":"Email must be valid","field":"email"},{"message":"Email in use"}]}`,
			serviceError{Service: "auth", Status: 400, Messages: []string{"Email in use"}, Fields: map[string]string{"email": "Email must be valid"}}},
		{"not found", 404, `{"errors":[{"message":"Not Found"}]}`,
			serviceError{Service: "auth", Status: 404, Messages: []string{"Not Found"}}},
		{"a body that is no error body", 409, `oops`,
			serviceError{Service: "auth", Status: 409, Messages: []string{"Conflict"}}},
		{"the app's own 500", 500, `{"errors":[{"message":"Something went wrong"}]}`,
			serviceError{Service: "auth", Status: 500, Messages: []string{"Something went wrong"}}},
		{"the sidecar could not reach the app", 500, `{"errorCode":"ERR_DIRECT_INVOKE","message":"connection refused"}`,
			serviceError{Service: "auth", Status: 503}},
		{"a gateway timeout", 504, ``, serviceError{Service: "auth", Status: 503}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := newStubSidecar(t)
			stub.on(appAuth, "GET", "/api/users/currentuser", tc.status, tc.body)
			_, err := newServices(stub.srv.URL, time.Second).currentUser(browserRequest("GET", "/", nil))
			var got *serviceError
			if !errors.As(err, &got) {
				t.Fatalf("error %v, want a *serviceError", err)
			}
			got.cause = nil
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("error %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestServiceThatDoesNotAnswerIsA503Page(t *testing.T) {
	cases := []struct {
		name    string
		stub    func(*stubSidecar)
		sidecar func(*stubSidecar) string // the sidecar's address
		want    string
	}{
		{"tickets too slow", func(s *stubSidecar) {
			s.on(appAuth, "GET", "/api/users/currentuser", 200, `{"currentUser":null}`)
			s.hang(appTickets, "GET", "/api/tickets")
		}, func(s *stubSidecar) string { return s.srv.URL }, "The tickets service did not answer"},
		{"auth too slow", func(s *stubSidecar) {
			s.hang(appAuth, "GET", "/api/users/currentuser")
		}, func(s *stubSidecar) string { return s.srv.URL }, "The auth service did not answer"},
		{"no sidecar at all", func(*stubSidecar) {}, func(*stubSidecar) string {
			closed := httptest.NewServer(http.NotFoundHandler())
			closed.Close()
			return closed.URL
		}, "The auth service did not answer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := newStubSidecar(t)
			tc.stub(stub)
			v, err := newViews(slog.New(slog.DiscardHandler), "")
			if err != nil {
				t.Fatal(err)
			}
			h := newServer(slog.New(slog.DiscardHandler), config{PageSize: 20}, v, newServices(tc.sidecar(stub), 50*time.Millisecond))

			w := httptest.NewRecorder()
			h.ServeHTTP(w, browserRequest("GET", "/", nil))
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503; body %s", w.Code, w.Body)
			}
			body := w.Body.String()
			for _, want := range []string{"Service unavailable", tc.want, "<!doctype html>"} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q:\n%s", want, body)
				}
			}
			if strings.Contains(body, "context deadline") || strings.Contains(body, "goroutine") {
				t.Errorf("page shows internals:\n%s", body)
			}
			if got := w.Header().Get("Retry-After"); got == "" {
				t.Error("no Retry-After header on a 503")
			}
		})
	}
}
