package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// The fuzz targets post arbitrary bodies to the real pages (newServer) as
// forms. The services behind the sidecar are fuzzBackends, in process: they
// answer as the real ones do, refusing what those refuse with their error
// shape, so that both the client's own form decoding and its handling of
// refusals run. A form, whatever it holds, is answered with a page (400 for
// what cannot be used) or a redirect, never a 5xx.

// fuzzBackends stands in for auth, tickets, orders and payments.
type fuzzBackends struct {
	user string // auth's currentuser answer
}

func (b fuzzBackends) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil { // an outgoing GET has none
		body, _ = io.ReadAll(r.Body)
	}
	reply := func(status int, v string, header ...string) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Add(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, v)
	}
	refuse := func(field, message string) {
		item := map[string]string{"message": message}
		if field != "" {
			item["field"] = field
		}
		b, _ := json.Marshal(map[string]any{"errors": []any{item}})
		reply(http.StatusBadRequest, string(b))
	}
	var in struct {
		Email    string  `json:"email"`
		Password string  `json:"password"`
		Title    string  `json:"title"`
		Price    float64 `json:"price"`
		Token    string  `json:"token"`
		OrderID  string  `json:"orderId"`
	}
	if len(body) > 0 && json.Unmarshal(body, &in) != nil {
		refuse("", "Request body must be a JSON object")
		return
	}
	const session = "session=abc; Path=/; HttpOnly; SameSite=Lax"
	switch r.Header.Get("dapr-app-id") + " " + r.Method + " " + r.URL.Path {
	case "auth GET /api/users/currentuser":
		reply(http.StatusOK, b.user)
	case "auth POST /api/users/signup":
		switch {
		case !strings.Contains(in.Email, "@"):
			refuse("email", "Email must be valid")
		case len([]rune(strings.TrimSpace(in.Password))) < 4:
			refuse("password", "Password must be between 4 and 20 characters")
		case in.Email == "ann@example.com":
			refuse("", "Email in use")
		default:
			reply(http.StatusCreated, `{"id":"u9","email":"new@example.com"}`, "Set-Cookie", session)
		}
	case "auth POST /api/users/signin":
		switch {
		case !strings.Contains(in.Email, "@"):
			refuse("email", "Email must be valid")
		case in.Password != "secret":
			refuse("", "Invalid credentials")
		default:
			reply(http.StatusOK, `{"id":"u1","email":"ann@example.com"}`, "Set-Cookie", session)
		}
	case "tickets POST /api/tickets", "tickets PUT /api/tickets/t1":
		switch {
		case strings.TrimSpace(in.Title) == "":
			refuse("title", "Title is required")
		case in.Price <= 0:
			refuse("price", "Price must be greater than 0")
		case in.Price > 1_000_000:
			refuse("price", "Price must be at most 1000000")
		default:
			t, _ := json.Marshal(ticket{ID: "t1", Title: in.Title, Price: in.Price, UserID: "u1"})
			status := http.StatusCreated
			if r.Method == http.MethodPut {
				status = http.StatusOK
			}
			reply(status, string(t))
		}
	case "orders GET /api/orders/o1":
		reply(http.StatusOK, `{"id":"o1","userId":"u1","status":"created","expiresAt":"2026-11-25T12:15:00Z",`+
			`"ticket":{"id":"t1","title":"Concert","price":12.5},"version":0,"createdAt":"2026-11-25T12:00:00Z"}`)
	case "payments POST /api/payments":
		switch {
		case strings.HasPrefix(in.Token, "tok_decline"):
			refuse("", "Your card was declined")
		case in.OrderID != "o1":
			reply(http.StatusNotFound, `{"errors":[{"message":"Not Found"}]}`)
		default:
			reply(http.StatusCreated, `{"id":"p1"}`)
		}
	default:
		reply(http.StatusNotFound, `{"errors":[{"message":"Not Found"}]}`)
	}
}

// handlerTransport answers the client's calls with a handler, in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return w.Result(), nil
}

// newFuzzServer is the client over fuzzBackends, signed in as user (auth's
// currentuser reply).
func newFuzzServer(f *testing.F, user string) http.Handler {
	f.Helper()
	log := slog.New(slog.DiscardHandler)
	v, err := newViews(log, "")
	if err != nil {
		f.Fatal(err)
	}
	svc := newServices("http://sidecar.invalid", time.Second)
	svc.http = &http.Client{
		Transport:     handlerTransport{fuzzBackends{user: user}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return newServer(log, config{PageSize: 20}, v, svc)
}

// postForm posts body as a form from the browser, and checks the answer: one
// of the statuses wanted (never a 5xx), and an HTML page unless a redirect.
func postForm(t *testing.T, h http.Handler, path string, body []byte, want ...int) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Cookie", "session=abc")
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	r.Header.Set("X-Forwarded-Proto", "https")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !slices.Contains(want, w.Code) {
		t.Fatalf("POST %s %q: status %d, want one of %v:\n%s", path, body, w.Code, want, w.Body)
	}
	if w.Code/100 == 3 {
		return
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("POST %s %q: %d with Content-Type %q, want a page", path, body, w.Code, ct)
	}
}

// FuzzAuthForm posts arbitrary forms to /auth/signup (signup) or /auth/signin.
func FuzzAuthForm(f *testing.F) {
	for _, s := range []string{
		"email=ann%40example.com&password=secret",
		"email=new%40example.com&password=hunter22",
		"email=ann%40example.com&password=wrong",
		"email=ann&password=",
		"email=ann%40example.com&password=secret&email=bob%40example.com",
		"email=%3Cscript%3Ealert(1)%3C%2Fscript%3E%40example.com&password=secret",
		"email=%C3%A4nn%40b%C3%BCcher.example&password=%F0%9F%8E%9F%F0%9F%8E%9F%F0%9F%8E%9F%F0%9F%8E%9F",
		"email=ann%40example.com&password=%ff%fe",
		"email=ann%4",
		"email=ann%zz&password=secret",
		"%=%&&==;",
		"password",
		"",
	} {
		f.Add(true, []byte(s))
		f.Add(false, []byte(s))
	}
	h := newFuzzServer(f, `{"currentUser":null}`)
	f.Fuzz(func(t *testing.T, signup bool, body []byte) {
		path := "/auth/signin"
		if signup {
			path = "/auth/signup"
		}
		postForm(t, h, path, body, http.StatusSeeOther, http.StatusBadRequest)
	})
}

// FuzzTicketForm posts arbitrary forms to /tickets/new, or to
// /tickets/t1/edit (edit), as the ticket's owner.
func FuzzTicketForm(f *testing.F) {
	for _, s := range []string{
		"title=Concert&price=12.50",
		"title=Concert&price=%2412.50",
		"title=Concert&price=1%2C250",
		"title=Concert&price=%241%2C250.00%20",
		"title=&price=12.50",
		"title=Concert&price=twelve",
		"title=Concert&price=-5",
		"title=Concert&price=1e400",
		"title=Concert&price=NaN",
		"title=Concert&price=Inf",
		"title=Concert&price=0x1p-2",
		"title=Concert&price=1_000",
		"title=Concert&price=9999999999999999999999",
		"title=%3Cb%3EOpera%3C%2Fb%3E+%F0%9F%8E%9F&price=35.5",
		"title=%ff%fe&price=1",
		"title=Concert&price=12.50&title=Opera",
		"title=Concert&price=12%",
		"",
	} {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
	}
	h := newFuzzServer(f, `{"currentUser":{"id":"u1","email":"ann@example.com","iat":1}}`)
	f.Fuzz(func(t *testing.T, edit bool, body []byte) {
		path := "/tickets/new"
		if edit {
			path = "/tickets/t1/edit"
		}
		postForm(t, h, path, body, http.StatusSeeOther, http.StatusBadRequest)
	})
}

// FuzzPayForm posts arbitrary forms to /orders/o1/pay, as the order's buyer.
func FuzzPayForm(f *testing.F) {
	for _, s := range []string{
		"token=tok_visa",
		"token=pm_card_visa",
		"token=tok_decline_card",
		"token=",
		"token=+++",
		"token=tok_visa&token=tok_mastercard",
		"token=%F0%9F%8E%9F%ff",
		"token=tok_visa&orderId=o2",
		"token=tok%",
		"",
	} {
		f.Add([]byte(s))
	}
	h := newFuzzServer(f, `{"currentUser":{"id":"u1","email":"ann@example.com","iat":1}}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		postForm(t, h, "/orders/o1/pay", body, http.StatusSeeOther, http.StatusBadRequest)
	})
}
