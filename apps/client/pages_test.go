package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testNow is the views' clock in page tests.
var testNow = time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC)

const (
	anonymous   = `{"currentUser":null}`
	signedInAnn = `{"currentUser":{"id":"u1","email":"ann@example.com","iat":1}}`
	signedInBob = `{"currentUser":{"id":"u2","email":"bob@example.com","iat":1}}`

	ticketByAnn   = `{"id":"t1","title":"Concert","price":12.5,"userId":"u1","version":0}`
	reservedByAnn = `{"id":"t1","title":"Concert","price":12.5,"userId":"u1","version":1,"orderId":"o1"}`
)

// orderJSON is an order of Concert with a status, expiring some time after testNow.
func orderJSON(status string, expiresIn time.Duration) string {
	return fmt.Sprintf(`{"id":"o1","userId":"u2","status":%q,"expiresAt":%q,"ticket":{"id":"t1","title":"Concert","price":12.5,"version":0},"version":0,"createdAt":"2026-01-02T15:00:00Z"}`,
		status, testNow.Add(expiresIn).Format(time.RFC3339))
}

// page is one page request of a test and what its answer must show.
type page struct {
	name    string
	stubs   func(*stubSidecar)
	user    string // auth's currentuser reply; anonymous when ""
	stripe  string // STRIPE_PUBLISHABLE_KEY
	method  string
	path    string
	form    url.Values
	header  map[string]string
	rawBody string // instead of form

	status    int
	location  string   // for redirects
	cookies   []string // Set-Cookie values relayed to the browser
	want      []string // substrings of the page
	notWant   []string
	wantCalls []string // calls the sidecar got, besides auth's currentuser
}

func (p page) run(t *testing.T) {
	t.Helper()
	stub := newStubSidecar(t)
	user := p.user
	if user == "" {
		user = anonymous
	}
	stub.on(appAuth, "GET", "/api/users/currentuser", 200, user)
	if p.stubs != nil {
		p.stubs(stub)
	}
	log := slog.New(slog.DiscardHandler)
	v, err := newViews(log, p.stripe)
	if err != nil {
		t.Fatal(err)
	}
	v.now = func() time.Time { return testNow }
	h := newServer(log, config{PageSize: 20}, v, newServices(stub.srv.URL, time.Second))

	body := strings.NewReader(p.rawBody)
	if p.form != nil {
		body = strings.NewReader(p.form.Encode())
	}
	r := browserRequest(p.method, p.path, body)
	if p.method == http.MethodPost {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, val := range p.header {
		r.Header.Set(k, val)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)

	got := w.Body.String()
	if w.Code != p.status {
		t.Fatalf("%s %s: status %d, want %d; page:\n%s", p.method, p.path, w.Code, p.status, got)
	}
	if loc := w.Header().Get("Location"); loc != p.location {
		t.Errorf("Location %q, want %q", loc, p.location)
	}
	if cookies := w.Header().Values("Set-Cookie"); strings.Join(cookies, "\n") != strings.Join(p.cookies, "\n") {
		t.Errorf("Set-Cookie %q, want %q", cookies, p.cookies)
	}
	if p.status/100 != 3 {
		if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q, want HTML", ct)
		}
	}
	for _, s := range p.want {
		if !strings.Contains(got, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	for _, s := range p.notWant {
		if strings.Contains(got, s) {
			t.Errorf("page has %q, want it not to", s)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", got)
	}
	var calls []string
	for _, c := range stub.recorded() {
		if c.header.Get("Cookie") != "session=abc; theme=dark" {
			t.Errorf("call %s carried Cookie %q, want the browser's", c, c.header.Get("Cookie"))
		}
		if c.String() != "auth GET /api/users/currentuser" {
			calls = append(calls, c.String())
		}
	}
	if strings.Join(calls, "\n") != strings.Join(p.wantCalls, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(p.wantCalls, "\n"))
	}
}

func runPages(t *testing.T, pages []page) {
	for _, p := range pages {
		if p.method == "" {
			p.method = http.MethodGet
		}
		t.Run(p.name, p.run)
	}
}

func TestLandingPage(t *testing.T) {
	twoTickets := `[{"id":"t1","title":"Concert","price":12.5,"userId":"u1"},{"id":"t2","title":"Opera <gala>","price":1250,"userId":"u3"}]`
	runPages(t, []page{
		{name: "anonymous: tickets with prices and links, sign up and sign in",
			stubs: func(s *stubSidecar) {
				s.on(appTickets, "GET", "/api/tickets", 200, twoTickets, "Link", `</api/tickets?limit=20&page=p%2F2>; rel="next"`)
			},
			path: "/", status: 200,
			want: []string{`<meta name="viewport"`, "Tickets for sale", `href="/tickets/t1"`, "Concert", "$12.50",
				"Opera &lt;gala&gt;", "$1,250.00", `id="nav-signup"`, `id="nav-signin"`,
				`<a href="/?page=p%2F2" id="next-page" rel="next">Next page</a>`, `<link rel="stylesheet" href="/static/style.css?v=`},
			notWant:   []string{"Sign out", "My orders", "First page", "Opera <gala>"},
			wantCalls: []string{"tickets GET /api/tickets?limit=20"}},
		{name: "signed in: the header shows the user and their links", user: signedInAnn,
			stubs: func(s *stubSidecar) { s.on(appTickets, "GET", "/api/tickets", 200, twoTickets) },
			path:  "/", status: 200,
			want:      []string{"ann@example.com", `href="/tickets/new"`, "Sell a ticket", `href="/orders"`, "My orders", `action="/auth/signout"`, "Sign out"},
			notWant:   []string{`id="nav-signup"`, `id="nav-signin"`, "Next page"},
			wantCalls: []string{"tickets GET /api/tickets?limit=20"}},
		{name: "a later page asks for its token and links to the first",
			stubs: func(s *stubSidecar) { s.on(appTickets, "GET", "/api/tickets", 200, `[]`) },
			path:  "/?page=p%2F2", status: 200,
			want:      []string{"No more tickets for sale", `href="/" id="first-page"`},
			notWant:   []string{"Next page"},
			wantCalls: []string{"tickets GET /api/tickets?limit=20&page=p%2F2"}},
		{name: "no tickets",
			stubs: func(s *stubSidecar) { s.on(appTickets, "GET", "/api/tickets", 200, `[]`) },
			path:  "/", status: 200,
			want:      []string{"No tickets for sale yet"},
			wantCalls: []string{"tickets GET /api/tickets?limit=20"}},
	})
}

func TestAuthPages(t *testing.T) {
	session := "session=tok; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"
	cleared := "session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
	runPages(t, []page{
		{name: "the sign-up form", path: "/auth/signup", status: 200,
			want: []string{`<form method="post" action="/auth/signup"`, `<label for="email">Email</label>`, `<label for="password">Password</label>`,
				`id="email" name="email" type="email"`, `autocomplete="new-password"`, `href="/auth/signin"`}},
		{name: "the sign-in form", path: "/auth/signin", status: 200,
			want: []string{`<form method="post" action="/auth/signin"`, `autocomplete="current-password"`, `href="/auth/signup"`}},
		{name: "sign-up problems next to their fields, the email kept",
			stubs: func(s *stubSidecar) {
				s.on(appAuth, "POST", "/api/users/signup", 400,
					`{"errors":[{"message":"Email must be valid","field":"email"},{"message":"Password must be between 4 and 20 characters","field":"password"}]}`)
			},
			method: "POST", path: "/auth/signup", form: url.Values{"email": {"ann@"}, "password": {"pw"}}, status: 400,
			want: []string{`value="ann@"`, `aria-invalid="true" aria-describedby="email-error"`,
				`<p class="field-error" id="email-error">Email must be valid</p>`,
				`<p class="field-error" id="password-error">Password must be between 4 and 20 characters</p>`},
			notWant:   []string{`value="pw"`, `id="form-errors"`},
			wantCalls: []string{`auth POST /api/users/signup {"email":"ann@","password":"pw"}`}},
		{name: "a general sign-up problem on top",
			stubs: func(s *stubSidecar) {
				s.on(appAuth, "POST", "/api/users/signup", 400, `{"errors":[{"message":"Email in use"}]}`)
			},
			method: "POST", path: "/auth/signup", form: url.Values{"email": {"ann@example.com"}, "password": {"secret"}}, status: 400,
			want:      []string{`id="form-errors"`, "<li>Email in use</li>", `value="ann@example.com"`},
			notWant:   []string{`class="field-error"`},
			wantCalls: []string{`auth POST /api/users/signup {"email":"ann@example.com","password":"secret"}`}},
		{name: "too many attempts is shown on the form",
			stubs: func(s *stubSidecar) {
				s.on(appAuth, "POST", "/api/users/signin", 429, `{"errors":[{"message":"Too many attempts; try again later"}]}`)
			},
			method: "POST", path: "/auth/signin", form: url.Values{"email": {"ann@example.com"}, "password": {"x"}}, status: 429,
			want:      []string{"Too many attempts; try again later", `value="ann@example.com"`},
			wantCalls: []string{`auth POST /api/users/signin {"email":"ann@example.com","password":"x"}`}},
		{name: "signing up hands over the session cookie and goes home",
			stubs: func(s *stubSidecar) {
				s.on(appAuth, "POST", "/api/users/signup", 201, `{"id":"u1","email":"ann@example.com"}`, "Set-Cookie", session)
			},
			method: "POST", path: "/auth/signup", form: url.Values{"email": {"ann@example.com"}, "password": {"secret"}},
			status: 303, location: "/", cookies: []string{session},
			wantCalls: []string{`auth POST /api/users/signup {"email":"ann@example.com","password":"secret"}`}},
		{name: "signing in hands over the session cookie and goes home",
			stubs: func(s *stubSidecar) {
				s.on(appAuth, "POST", "/api/users/signin", 200, `{"id":"u1","email":"ann@example.com"}`, "Set-Cookie", session)
			},
			method: "POST", path: "/auth/signin", form: url.Values{"email": {"ann@example.com"}, "password": {"secret"}},
			status: 303, location: "/", cookies: []string{session},
			wantCalls: []string{`auth POST /api/users/signin {"email":"ann@example.com","password":"secret"}`}},
		{name: "wrong credentials",
			stubs: func(s *stubSidecar) {
				s.on(appAuth, "POST", "/api/users/signin", 400, `{"errors":[{"message":"Invalid credentials"}]}`)
			},
			method: "POST", path: "/auth/signin", form: url.Values{"email": {"ann@example.com"}, "password": {"nope"}}, status: 400,
			want:      []string{"<li>Invalid credentials</li>", `value="ann@example.com"`},
			wantCalls: []string{`auth POST /api/users/signin {"email":"ann@example.com","password":"nope"}`}},
		{name: "signing out clears the cookie and goes home", user: signedInAnn,
			stubs: func(s *stubSidecar) {
				s.on(appAuth, "POST", "/api/users/signout", 200, `{}`, "Set-Cookie", cleared)
			},
			method: "POST", path: "/auth/signout", status: 303, location: "/", cookies: []string{cleared},
			wantCalls: []string{"auth POST /api/users/signout"}},
		{name: "a form that cannot be read is a 400 page",
			method: "POST", path: "/auth/signin", rawBody: "email=%zz", status: 400,
			want: []string{"Bad request", "The form could not be read"}},
	})
}

func TestTicketPages(t *testing.T) {
	runPages(t, []page{
		{name: "selling needs a signed-in user", path: "/tickets/new", status: 303, location: "/auth/signin"},
		{name: "listing needs a signed-in user", method: "POST", path: "/tickets/new", form: url.Values{"title": {"x"}, "price": {"1"}},
			status: 303, location: "/auth/signin"},
		{name: "the sell form", user: signedInAnn, path: "/tickets/new", status: 200,
			want: []string{`action="/tickets/new"`, `<label for="title">Title</label>`, `<label for="price">Price (US dollars)</label>`, "List ticket"}},
		{name: "listing problems next to their fields, the input kept", user: signedInAnn,
			stubs: func(s *stubSidecar) {
				s.on(appTickets, "POST", "/api/tickets", 400, `{"errors":[{"message":"Title is required","field":"title"}]}`)
			},
			method: "POST", path: "/tickets/new", form: url.Values{"title": {" "}, "price": {"12.5"}}, status: 400,
			want:      []string{`<p class="field-error" id="title-error">Title is required</p>`, `value="12.5"`},
			wantCalls: []string{`tickets POST /api/tickets {"title":" ","price":12.5}`}},
		{name: "a price that is no number is caught before the call", user: signedInAnn,
			method: "POST", path: "/tickets/new", form: url.Values{"title": {"Concert"}, "price": {"cheap"}}, status: 400,
			want: []string{`id="price-error">Price must be a number, such as 12.50</p>`, `value="Concert"`, `value="cheap"`}},
		{name: "a listed ticket is shown", user: signedInAnn,
			stubs:  func(s *stubSidecar) { s.on(appTickets, "POST", "/api/tickets", 201, ticketByAnn) },
			method: "POST", path: "/tickets/new", form: url.Values{"title": {"Concert"}, "price": {"$1,012.50"}},
			status: 303, location: "/tickets/t1",
			wantCalls: []string{`tickets POST /api/tickets {"title":"Concert","price":1012.5}`}},
		{name: "anonymous: the ticket and a way to sign in",
			stubs: func(s *stubSidecar) { s.on(appTickets, "GET", "/api/tickets/t1", 200, ticketByAnn) },
			path:  "/tickets/t1", status: 200,
			want:      []string{`<h1 id="ticket-title">Concert</h1>`, "$12.50", `id="signin-to-buy"`},
			notWant:   []string{`id="purchase"`, `id="edit-ticket"`},
			wantCalls: []string{"tickets GET /api/tickets/t1"}},
		{name: "a buyer gets the purchase button", user: signedInBob,
			stubs: func(s *stubSidecar) { s.on(appTickets, "GET", "/api/tickets/t1", 200, ticketByAnn) },
			path:  "/tickets/t1", status: 200,
			want:      []string{`<form method="post" action="/tickets/t1/purchase"`, `id="purchase"`},
			notWant:   []string{`id="edit-ticket"`, "Reserved"},
			wantCalls: []string{"tickets GET /api/tickets/t1"}},
		{name: "the owner gets the edit link", user: signedInAnn,
			stubs: func(s *stubSidecar) { s.on(appTickets, "GET", "/api/tickets/t1", 200, ticketByAnn) },
			path:  "/tickets/t1", status: 200,
			want:      []string{`href="/tickets/t1/edit" id="edit-ticket"`},
			notWant:   []string{`id="purchase"`},
			wantCalls: []string{"tickets GET /api/tickets/t1"}},
		{name: "a reserved ticket says so, to buyer and owner alike", user: signedInAnn,
			stubs: func(s *stubSidecar) { s.on(appTickets, "GET", "/api/tickets/t1", 200, reservedByAnn) },
			path:  "/tickets/t1", status: 200,
			want:      []string{`id="ticket-reserved" data-testid="ticket-reserved">Reserved</p>`},
			notWant:   []string{`id="purchase"`, `id="edit-ticket"`},
			wantCalls: []string{"tickets GET /api/tickets/t1"}},
		{name: "an unknown ticket is the 404 page",
			stubs: func(s *stubSidecar) {
				s.on(appTickets, "GET", "/api/tickets/nope", 404, `{"errors":[{"message":"Not Found"}]}`)
			},
			path: "/tickets/nope", status: 404,
			want:      []string{"Page not found"},
			wantCalls: []string{"tickets GET /api/tickets/nope"}},
		{name: "purchasing orders the ticket and shows the order", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "POST", "/api/orders", 201, orderJSON("created", 15*time.Minute))
			},
			method: "POST", path: "/tickets/t1/purchase", status: 303, location: "/orders/o1",
			wantCalls: []string{`orders POST /api/orders {"ticketId":"t1"}`}},
		{name: "a refused purchase is shown on the ticket", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "POST", "/api/orders", 400, `{"errors":[{"message":"Ticket is already reserved"}]}`)
				s.on(appTickets, "GET", "/api/tickets/t1", 200, reservedByAnn)
			},
			method: "POST", path: "/tickets/t1/purchase", status: 400,
			want:      []string{"<li>Ticket is already reserved</li>", "Reserved"},
			wantCalls: []string{`orders POST /api/orders {"ticketId":"t1"}`, "tickets GET /api/tickets/t1"}},
		{name: "purchasing a ticket that does not exist", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "POST", "/api/orders", 404, `{"errors":[{"message":"Not Found"}]}`)
			},
			method: "POST", path: "/tickets/t1/purchase", status: 404,
			want:      []string{"Page not found"},
			wantCalls: []string{`orders POST /api/orders {"ticketId":"t1"}`}},
		{name: "purchasing needs a signed-in user", method: "POST", path: "/tickets/t1/purchase", status: 303, location: "/auth/signin"},
		{name: "the edit form, filled in", user: signedInAnn,
			stubs: func(s *stubSidecar) { s.on(appTickets, "GET", "/api/tickets/t1", 200, ticketByAnn) },
			path:  "/tickets/t1/edit", status: 200,
			want:      []string{`action="/tickets/t1/edit"`, `value="Concert"`, `value="12.50"`, "Save changes"},
			wantCalls: []string{"tickets GET /api/tickets/t1"}},
		{name: "only the owner may edit", user: signedInBob,
			stubs: func(s *stubSidecar) { s.on(appTickets, "GET", "/api/tickets/t1", 200, ticketByAnn) },
			path:  "/tickets/t1/edit", status: 403,
			want:      []string{"Only the seller of a ticket can edit it."},
			notWant:   []string{`id="ticket-form"`},
			wantCalls: []string{"tickets GET /api/tickets/t1"}},
		{name: "a reserved ticket cannot be edited", user: signedInAnn,
			stubs: func(s *stubSidecar) { s.on(appTickets, "GET", "/api/tickets/t1", 200, reservedByAnn) },
			path:  "/tickets/t1/edit", status: 200,
			want:      []string{"This ticket is reserved by an order, so it cannot be edited."},
			notWant:   []string{`id="ticket-form"`},
			wantCalls: []string{"tickets GET /api/tickets/t1"}},
		{name: "edit problems next to their fields, the input kept", user: signedInAnn,
			stubs: func(s *stubSidecar) {
				s.on(appTickets, "PUT", "/api/tickets/t1", 400, `{"errors":[{"message":"Price must be greater than 0","field":"price"}]}`)
			},
			method: "POST", path: "/tickets/t1/edit", form: url.Values{"title": {"Gala"}, "price": {"-1"}}, status: 400,
			want:      []string{`id="price-error">Price must be greater than 0</p>`, `value="Gala"`, `value="-1"`},
			wantCalls: []string{`tickets PUT /api/tickets/t1 {"title":"Gala","price":-1}`}},
		{name: "a saved edit shows the ticket", user: signedInAnn,
			stubs:  func(s *stubSidecar) { s.on(appTickets, "PUT", "/api/tickets/t1", 200, ticketByAnn) },
			method: "POST", path: "/tickets/t1/edit", form: url.Values{"title": {"Gala"}, "price": {"20"}},
			status: 303, location: "/tickets/t1",
			wantCalls: []string{`tickets PUT /api/tickets/t1 {"title":"Gala","price":20}`}},
	})
}

func TestOrderPages(t *testing.T) {
	runPages(t, []page{
		{name: "my orders need a signed-in user", path: "/orders", status: 303, location: "/auth/signin"},
		{name: "my orders with title, price and status", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "GET", "/api/orders", 200, "["+orderJSON("complete", -time.Minute)+"]")
			},
			path: "/orders", status: 200,
			want: []string{`<h1>My orders</h1>`, `<a href="/orders/o1" data-testid="order-link">Concert</a>`, "$12.50",
				`<span class="status status-complete" data-testid="order-status">complete</span>`, "Jan 2, 2026, 3:00 PM UTC"},
			wantCalls: []string{"orders GET /api/orders"}},
		{name: "no orders yet", user: signedInBob,
			stubs: func(s *stubSidecar) { s.on(appOrders, "GET", "/api/orders", 200, "[]") },
			path:  "/orders", status: 200,
			want:      []string{"You have no orders yet."},
			wantCalls: []string{"orders GET /api/orders"}},
		{name: "an open order counts down and pays in test mode", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("created", 10*time.Minute))
			},
			path: "/orders/o1", status: 200,
			want: []string{`id="order-status" data-testid="order-status">created</span>`, `data-seconds="600"`,
				`<strong id="countdown-time">10:00</strong>`, "TEST MODE", `<option value="tok_visa" selected>`,
				`action="/orders/o1/pay"`, `id="pay-button"`, "Pay $12.50", `action="/orders/o1/cancel"`, "This order has expired"},
			notWant:   []string{"js.stripe.com", `id="order-paid"`},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "with a Stripe key, the Payment Element", user: signedInBob, stripe: "pk_test_123",
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("created", 90*time.Second))
			},
			path: "/orders/o1", status: 200,
			want: []string{`<script src="https://js.stripe.com/v3/"></script>`, `data-stripe-key="pk_test_123"`,
				`<div id="payment-element" class="card-input"></div>`, `<strong id="countdown-time">1:30</strong>`},
			notWant:   []string{"TEST MODE", "tok_visa"},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "an unpaid order past its time has expired", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("created", -time.Second))
			},
			path: "/orders/o1", status: 200,
			want:      []string{`data-seconds="0" role="status">This order has expired</p>`},
			notWant:   []string{`id="pay-form"`, `id="countdown-time"`, "<script"},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "an expired and cancelled order", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("cancelled", -time.Minute))
			},
			path: "/orders/o1", status: 200,
			want:      []string{">cancelled</span>", "This order has expired"},
			notWant:   []string{`id="pay-form"`},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "a cancelled order", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("cancelled", time.Minute))
			},
			path: "/orders/o1", status: 200,
			want:      []string{"This order was cancelled."},
			notWant:   []string{`id="pay-form"`, `id="countdown"`},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "a paid order", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("complete", -time.Minute))
			},
			path: "/orders/o1", status: 200,
			want:      []string{`id="order-paid"`, ">complete</span>"},
			notWant:   []string{`id="pay-form"`, "This order has expired"},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "someone else's order", user: signedInAnn,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "GET", "/api/orders/o1", 401, `{"errors":[{"message":"Not authorized"}]}`)
			},
			path: "/orders/o1", status: 403,
			want:      []string{"Not authorized"},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "paying charges the token and shows my orders", user: signedInBob,
			stubs:  func(s *stubSidecar) { s.on(appPayments, "POST", "/api/payments", 201, `{"id":"p1"}`) },
			method: "POST", path: "/orders/o1/pay", form: url.Values{"token": {"tok_visa"}}, status: 303, location: "/orders",
			wantCalls: []string{`payments POST /api/payments {"orderId":"o1","token":"tok_visa"}`}},
		{name: "a refused payment is shown on the order", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appPayments, "POST", "/api/payments", 400, `{"errors":[{"message":"Cannot pay for an cancelled order"}]}`)
				s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("cancelled", -time.Minute))
			},
			method: "POST", path: "/orders/o1/pay", form: url.Values{"token": {"tok_visa"}}, status: 400,
			want:      []string{"<li>Cannot pay for an cancelled order</li>", `data-testid="order-detail"`},
			wantCalls: []string{`payments POST /api/payments {"orderId":"o1","token":"tok_visa"}`, "orders GET /api/orders/o1"}},
		{name: "a bank that asks the buyer to authenticate, in test mode: its page, by a link", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appPayments, "POST", "/api/payments", 202, `{"id":"p1","status":"requires_action","clientSecret":"pi_1_secret_x","nextActionUrl":"https://bank.example/3ds/pi_1"}`)
			},
			method: "POST", path: "/orders/o1/pay", form: url.Values{"token": {"pm_card_threeDSecure2Required"}}, status: 202,
			want:      []string{"Confirm with your bank", `href="https://bank.example/3ds/pi_1"`, `id="continue-link"`},
			notWant:   []string{"pi_1_secret_x"},
			wantCalls: []string{`payments POST /api/payments {"orderId":"o1","token":"pm_card_threeDSecure2Required"}`}},
		{name: "a bank that asks the buyer to authenticate, with Stripe.js", user: signedInBob, stripe: "pk_test_abc",
			stubs: func(s *stubSidecar) {
				s.on(appPayments, "POST", "/api/payments", 202, `{"id":"p1","status":"requires_action","clientSecret":"pi_1_secret_x","nextActionUrl":"https://bank.example/3ds/pi_1"}`)
				s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("awaiting:payment", time.Minute))
			},
			method: "POST", path: "/orders/o1/pay", form: url.Values{"token": {"pm_1"}}, status: 202,
			want:      []string{`data-client-secret="pi_1_secret_x"`, "handleNextAction", `data-stripe-key="pk_test_abc"`},
			notWant:   []string{`id="pay-form"`},
			wantCalls: []string{`payments POST /api/payments {"orderId":"o1","token":"pm_1"}`, "orders GET /api/orders/o1"}},
		{name: "back from the bank, before Stripe said how it ended", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("awaiting:payment", time.Minute))
			},
			path: "/orders/o1?payment_intent=pi_1", status: 200,
			want:      []string{`id="order-confirming"`, "Your bank is confirming the payment."},
			notWant:   []string{`id="pay-form"`},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "back from the bank, which did not confirm", user: signedInBob,
			stubs: func(s *stubSidecar) { s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("created", time.Minute)) },
			path:  "/orders/o1?payment_intent=pi_1", status: 200,
			want:      []string{"Your bank did not confirm the payment, so nothing was charged.", `id="pay-form"`},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "back from the bank, which confirmed", user: signedInBob,
			stubs: func(s *stubSidecar) {
				s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("complete", time.Minute))
			},
			path: "/orders/o1?payment_intent=pi_1", status: 200,
			want:      []string{"Paid. The ticket is yours."},
			notWant:   []string{"order-confirming", "did not confirm"},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "with a publishable key, Stripe's Payment Element", user: signedInBob, stripe: "pk_test_abc",
			stubs: func(s *stubSidecar) { s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("created", time.Minute)) },
			path:  "/orders/o1", status: 200,
			want:      []string{`id="payment-element"`, `data-amount="1250"`, "createPaymentMethod", "https://js.stripe.com/v3/"},
			notWant:   []string{"TEST MODE"},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "in test mode, Stripe's test cards", user: signedInBob,
			stubs: func(s *stubSidecar) { s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("created", time.Minute)) },
			path:  "/orders/o1", status: 200,
			want:      []string{"TEST MODE", `value="tok_visa" selected`, `value="pm_card_threeDSecure2Required"`, `value="tok_chargeDeclined"`},
			notWant:   []string{"js.stripe.com/v3"},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "paying without a token", user: signedInBob,
			stubs:  func(s *stubSidecar) { s.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("created", time.Minute)) },
			method: "POST", path: "/orders/o1/pay", form: url.Values{}, status: 400,
			want:      []string{"<li>Enter your card details to pay.</li>"},
			wantCalls: []string{"orders GET /api/orders/o1"}},
		{name: "paying needs a signed-in user", method: "POST", path: "/orders/o1/pay", form: url.Values{"token": {"tok_visa"}},
			status: 303, location: "/auth/signin"},
		{name: "cancelling shows the cancelled order", user: signedInBob,
			stubs:  func(s *stubSidecar) { s.on(appOrders, "DELETE", "/api/orders/o1", 204, "") },
			method: "POST", path: "/orders/o1/cancel", status: 303, location: "/orders/o1",
			wantCalls: []string{"orders DELETE /api/orders/o1"}},
	})
}

func TestErrorPages(t *testing.T) {
	runPages(t, []page{
		{name: "an unknown route is the 404 page, with the user's header", user: signedInAnn, path: "/no/such/page", status: 404,
			want: []string{"<!doctype html>", "Page not found", "ann@example.com", `href="/"`}},
		{name: "an id that cannot be one is the 404 page without a call", path: "/tickets/a.b", status: 404,
			want: []string{"Page not found"}},
		{name: "a wrong method is the 405 page", method: "DELETE", path: "/", status: 405,
			want: []string{"Method not allowed"}},
		{name: "auth down is the 503 page naming auth",
			stubs: func(s *stubSidecar) {
				s.on(appAuth, "GET", "/api/users/currentuser", 500, `{"errorCode":"ERR_DIRECT_INVOKE","message":"fail to invoke, id: auth"}`)
			},
			path: "/", status: 503,
			want:    []string{"Service unavailable", "The auth service did not answer."},
			notWant: []string{"ERR_DIRECT_INVOKE", "fail to invoke"}},
		{name: "orders down is the 503 page naming orders", user: signedInBob,
			stubs: func(s *stubSidecar) { s.on(appOrders, "GET", "/api/orders", 502, ``) },
			path:  "/orders", status: 503,
			want:      []string{"The orders service did not answer."},
			wantCalls: []string{"orders GET /api/orders"}},
		{name: "a service's own failure is a 500 page without details",
			stubs: func(s *stubSidecar) {
				s.on(appTickets, "GET", "/api/tickets", 500, `{"errors":[{"message":"Something went wrong"}]}`)
			},
			path: "/", status: 500,
			want:      []string{"Something went wrong", "quote request id"},
			wantCalls: []string{"tickets GET /api/tickets?limit=20"}},
		{name: "a form posted from another site is refused", user: signedInAnn,
			method: "POST", path: "/auth/signout", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403,
			want: []string{"This form was sent from another site, so it was refused."}},
	})
}

func TestPagesAllowOnlyTheirOwnInlineScripts(t *testing.T) {
	stub := newStubSidecar(t)
	stub.on(appAuth, "GET", "/api/users/currentuser", 200, signedInBob)
	stub.on(appOrders, "GET", "/api/orders/o1", 200, orderJSON("created", time.Minute))
	log := slog.New(slog.DiscardHandler)
	v, err := newViews(log, "")
	if err != nil {
		t.Fatal(err)
	}
	v.now = func() time.Time { return testNow }
	h := newServer(log, config{PageSize: 20}, v, newServices(stub.srv.URL, time.Second))

	var nonces []string
	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, browserRequest("GET", "/orders/o1", nil))
		csp := w.Header().Get("Content-Security-Policy")
		m := regexp.MustCompile(`'nonce-([A-Za-z0-9_-]+)'`).FindStringSubmatch(csp)
		if m == nil {
			t.Fatalf("Content-Security-Policy %q has no nonce", csp)
		}
		if !strings.Contains(w.Body.String(), `<script nonce="`+m[1]+`">`) {
			t.Errorf("the countdown script does not carry the policy's nonce %s", m[1])
		}
		for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
			}
		}
		nonces = append(nonces, m[1])
	}
	if nonces[0] == nonces[1] {
		t.Errorf("two pages got one nonce %s, want a fresh one per page", nonces[0])
	}
}

func TestStaticStylesheet(t *testing.T) {
	v, err := newViews(slog.New(slog.DiscardHandler), "")
	if err != nil {
		t.Fatal(err)
	}
	h := newServer(slog.New(slog.DiscardHandler), config{}, v, newServices("http://127.0.0.1:1", time.Second))
	cases := []struct {
		path   string
		status int
		want   string
	}{
		{v.cssURL, 200, "font-family: system-ui"},
		{"/static/", 404, ""},
		{"/static/nope.css", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", tc.path, nil))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("body lacks %q", tc.want)
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	prices := map[float64]string{0: "$0.00", 12.5: "$12.50", 0.1 + 0.2: "$0.30", 1250: "$1,250.00", 1234567.891: "$1,234,567.89", -3: "-$3.00"}
	for in, want := range prices {
		if got := formatPrice(in); got != want {
			t.Errorf("formatPrice(%v) = %q, want %q", in, got, want)
		}
	}
	clocks := map[int]string{0: "0:00", 9: "0:09", 61: "1:01", 900: "15:00"}
	for in, want := range clocks {
		if got := formatClock(in); got != want {
			t.Errorf("formatClock(%d) = %q, want %q", in, got, want)
		}
	}
	parsed := []struct {
		in   string
		want float64
		ok   bool
	}{{"12.5", 12.5, true}, {" $1,250 ", 1250, true}, {"-1", -1, true}, {"", 0, false}, {"twelve", 0, false}, {"NaN", 0, false}, {"Inf", 0, false}}
	for _, p := range parsed {
		if got, ok := parsePrice(p.in); got != p.want || ok != p.ok {
			t.Errorf("parsePrice(%q) = %v, %v; want %v, %v", p.in, got, ok, p.want, p.ok)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		cfg, err := loadConfig(func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "127.0.0.1:3000" || cfg.DaprHTTPAddr != "127.0.0.1:3500" || cfg.CallTimeout != 3*time.Second ||
			cfg.PageSize != 20 || cfg.StripePublicKey != "" {
			t.Errorf("got %+v, want port 3000, sidecar 3500, 3s calls, 20 a page, 5s to catch up, test mode", cfg)
		}
	})
	t.Run("bad values are all reported", func(t *testing.T) {
		env := map[string]string{"CLIENT_CALL_TIMEOUT": "soon", "TICKETS_PER_PAGE": "-2"}
		_, err := loadConfig(func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), "CLIENT_CALL_TIMEOUT") || !strings.Contains(err.Error(), "TICKETS_PER_PAGE") {
			t.Errorf("error %v, want one naming CLIENT_CALL_TIMEOUT and TICKETS_PER_PAGE", err)
		}
	})
}

func TestSellerPages(t *testing.T) {
	salesJSON := `{"sales":[{"orderId":"o2","amount":20,"fee":2,"share":18,"status":"succeeded","transfer":"pending","at":"2026-01-02T15:00:00Z"},` +
		`{"orderId":"o1","amount":12.5,"fee":1.25,"share":11.25,"status":"refunded","transfer":"reversed","at":"2026-01-02T14:00:00Z"}],` +
		`"gross":20,"fees":2,"net":18,"paid":0,"pending":18}`
	runPages(t, []page{
		{name: "get paid, with no payout account yet", user: signedInAnn,
			stubs: func(s *stubSidecar) {
				s.on(appPayments, "GET", "/api/payments/sellers/me", 404, `{"errors":[{"message":"Not Found"}]}`)
			},
			path: "/sellers/me", status: 200,
			want:      []string{`data-state="none"`, `id="connect-payouts"`, "Connect a payout account"},
			wantCalls: []string{"payments GET /api/payments/sellers/me"}},
		{name: "get paid, onboarding not finished", user: signedInAnn,
			stubs: func(s *stubSidecar) {
				s.on(appPayments, "GET", "/api/payments/sellers/me", 200, `{"accountId":"acct_1","ready":false,"payouts":false}`)
			},
			path: "/sellers/me", status: 200,
			want:      []string{`data-state="incomplete"`, "acct_1", "Continue setting up payouts"},
			wantCalls: []string{"payments GET /api/payments/sellers/me"}},
		{name: "get paid, connected", user: signedInAnn,
			stubs: func(s *stubSidecar) {
				s.on(appPayments, "GET", "/api/payments/sellers/me", 200, `{"accountId":"acct_1","ready":true,"payouts":true}`)
			},
			path: "/sellers/me", status: 200,
			want:      []string{`data-state="ready"`, "acct_1"},
			notWant:   []string{`id="connect-payouts"`},
			wantCalls: []string{"payments GET /api/payments/sellers/me"}},
		{name: "connecting sends the seller on to Stripe's onboarding", user: signedInAnn,
			stubs: func(s *stubSidecar) {
				s.on(appPayments, "POST", "/api/payments/sellers", 201, `{"accountId":"acct_1","ready":false,"payouts":false,"url":"https://connect.stripe.com/setup/e/acct_1/x"}`)
			},
			method: "POST", path: "/sellers/me/connect", status: 200,
			want:      []string{`href="https://connect.stripe.com/setup/e/acct_1/x"`, "Continue to Stripe"},
			wantCalls: []string{"payments POST /api/payments/sellers {}"}},
		{name: "Stripe down while connecting", user: signedInAnn,
			stubs: func(s *stubSidecar) {
				s.on(appPayments, "POST", "/api/payments/sellers", 503, `{"errors":[{"message":"Payments are unavailable, try again shortly"}]}`)
			},
			method: "POST", path: "/sellers/me/connect", status: 503,
			want:      []string{"The payments service did not answer."},
			wantCalls: []string{"payments POST /api/payments/sellers {}"}},
		{name: "get paid needs a signed-in user", path: "/sellers/me", status: 303, location: "/auth/signin"},
		{name: "my sales, with fees and payout state", user: signedInAnn,
			stubs: func(s *stubSidecar) { s.on(appPayments, "GET", "/api/payments/sales", 200, salesJSON) },
			path:  "/sales", status: 200,
			want: []string{`id="sales-gross">$20.00`, `id="sales-fees">$2.00`, `id="sales-net">$18.00`, `id="sales-pending">$18.00`,
				"Waiting for your payout account", "Refunded to the buyer", "$11.25"},
			wantCalls: []string{"payments GET /api/payments/sales"}},
		{name: "my sales, none yet", user: signedInAnn,
			stubs: func(s *stubSidecar) { s.on(appPayments, "GET", "/api/payments/sales", 200, `{"sales":[],"gross":0}`) },
			path:  "/sales", status: 200,
			want:      []string{`id="no-sales"`},
			wantCalls: []string{"payments GET /api/payments/sales"}},
	})
}
