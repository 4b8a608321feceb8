package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// The app ids the client invokes through its sidecar.
const (
	appAuth     = "auth"
	appTickets  = "tickets"
	appOrders   = "orders"
	appPayments = "payments"
)

// maxReplyBytes bounds what the client reads of one service reply.
const maxReplyBytes = 4 << 20

// services calls the other apps by Dapr service invocation over HTTP: every
// request goes to the client's own sidecar with a dapr-app-id header, and
// carries the user's cookie, so each service sees the user as the browser
// would show them. Each call has its own deadline, so one slow service cannot
// hang a page.
type services struct {
	base    string // the sidecar's HTTP API, e.g. http://127.0.0.1:3500
	timeout time.Duration
	http    *http.Client
}

func newServices(base string, timeout time.Duration) *services {
	return &services{
		base:    strings.TrimSuffix(base, "/"),
		timeout: timeout,
		http: &http.Client{
			Transport: &http.Transport{
				DialContext:         (&net.Dialer{Timeout: time.Second}).DialContext,
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     90 * time.Second,
			},
			// A service's redirect is an answer to show, not to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// serviceError is a call that did not succeed: the service answered an error,
// or did not answer at all (Status 503).
type serviceError struct {
	Service  string            // the app id
	Status   int               // the service's status; 503 when it did not answer
	Messages []string          // problems that belong to no field
	Fields   map[string]string // problems with one input field, by field name
	cause    error
}

func (e *serviceError) Error() string {
	msg := strings.Join(e.Messages, "; ")
	for f, m := range e.Fields {
		msg += fmt.Sprintf("; %s: %s", f, m)
	}
	if e.cause != nil {
		msg += fmt.Sprintf(" (%v)", e.cause)
	}
	return fmt.Sprintf("%s answered %d: %s", e.Service, e.Status, strings.TrimPrefix(msg, "; "))
}

func (e *serviceError) Unwrap() error { return e.cause }

// unavailable says whether the service did not answer (down, too slow, or its
// sidecar could not reach it): the page says which service, and a retry may work.
func (e *serviceError) unavailable() bool { return e.Status == http.StatusServiceUnavailable }

// call sends one request to an app through the sidecar and decodes a 2xx JSON
// reply into out. It returns the reply's header (for Set-Cookie and Link).
func (s *services) call(r *http.Request, app, method, path string, in, out any) (http.Header, error) {
	ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
	defer cancel()

	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("dapr-app-id", app)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	forwardCaller(req, r)

	resp, err := s.http.Do(req)
	if err != nil {
		return nil, &serviceError{Service: app, Status: http.StatusServiceUnavailable, cause: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return nil, &serviceError{Service: app, Status: http.StatusServiceUnavailable, cause: err}
	}
	if resp.StatusCode/100 != 2 {
		return resp.Header, errorFrom(app, resp.StatusCode, data)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, &serviceError{Service: app, Status: http.StatusInternalServerError,
				cause: fmt.Errorf("%s %s: undecodable reply: %w", method, path, err)}
		}
	}
	return resp.Header, nil
}

// forwardCaller passes on what the services need to know about the browser:
// its session cookie, where it came from (auth limits sign-ins per address,
// and marks the cookie Secure behind TLS), and the request id for the logs.
func forwardCaller(out, in *http.Request) {
	if c := in.Header.Values("Cookie"); len(c) > 0 {
		out.Header.Set("Cookie", strings.Join(c, "; "))
	}
	if xff := in.Header.Get("X-Forwarded-For"); xff != "" {
		out.Header.Set("X-Forwarded-For", xff)
	} else if host, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		out.Header.Set("X-Forwarded-For", host)
	}
	if proto := in.Header.Get("X-Forwarded-Proto"); proto != "" {
		out.Header.Set("X-Forwarded-Proto", proto)
	} else if in.TLS != nil {
		out.Header.Set("X-Forwarded-Proto", "https")
	}
	if id := web.RequestID(in.Context()); id != "" {
		out.Header.Set("X-Request-Id", id)
	}
}

// errorFrom reads a service's error reply: the original's shape
// {"errors":[{"message","field"}]}. Dapr's own errors ({"errorCode": ...}: the
// app could not be reached) and gateway statuses mean the service is unavailable.
func errorFrom(app string, status int, data []byte) error {
	var body struct {
		web.ErrorBody
		ErrorCode string `json:"errorCode"`
		Message   string `json:"message"`
	}
	_ = json.Unmarshal(data, &body)
	if body.ErrorCode != "" || status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout {
		cause := fmt.Errorf("status %d: %s %s", status, body.ErrorCode, body.Message)
		return &serviceError{Service: app, Status: http.StatusServiceUnavailable, cause: cause}
	}
	e := &serviceError{Service: app, Status: status}
	for _, item := range body.Errors {
		if item.Field != "" {
			if e.Fields == nil {
				e.Fields = map[string]string{}
			}
			e.Fields[item.Field] = item.Message
		} else {
			e.Messages = append(e.Messages, item.Message)
		}
	}
	if len(e.Messages) == 0 && len(e.Fields) == 0 {
		e.Messages = []string{http.StatusText(status)}
	}
	return e
}

// user is the signed-in user as auth reports it.
type user struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	IssuedAt int64  `json:"iat"`
}

// currentUser asks auth who the cookie belongs to: nil when nobody.
func (s *services) currentUser(r *http.Request) (*user, error) {
	var body struct {
		CurrentUser *user `json:"currentUser"`
	}
	_, err := s.call(r, appAuth, http.MethodGet, "/api/users/currentuser", nil, &body)
	return body.CurrentUser, err
}

// credentials is the body of sign-up and sign-in.
type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// signup creates an account; it returns auth's Set-Cookie values for the browser.
func (s *services) signup(r *http.Request, c credentials) ([]string, error) {
	h, err := s.call(r, appAuth, http.MethodPost, "/api/users/signup", c, nil)
	if err != nil {
		return nil, err
	}
	return h.Values("Set-Cookie"), nil
}

// signin checks the credentials; it returns auth's Set-Cookie values.
func (s *services) signin(r *http.Request, c credentials) ([]string, error) {
	h, err := s.call(r, appAuth, http.MethodPost, "/api/users/signin", c, nil)
	if err != nil {
		return nil, err
	}
	return h.Values("Set-Cookie"), nil
}

// signout returns auth's Set-Cookie values that clear the session.
func (s *services) signout(r *http.Request) ([]string, error) {
	h, err := s.call(r, appAuth, http.MethodPost, "/api/users/signout", nil, nil)
	if err != nil {
		return nil, err
	}
	return h.Values("Set-Cookie"), nil
}

// ticket is a ticket as the tickets service shows it; OrderID is set while an
// order holds it.
type ticket struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Price   float64 `json:"price"`
	UserID  string  `json:"userId"`
	Version int64   `json:"version"`
	OrderID string  `json:"orderId,omitempty"`
}

// ticketInput is the body of creating and editing a ticket.
type ticketInput struct {
	Title string  `json:"title"`
	Price float64 `json:"price"`
}

// listTickets returns one page of the tickets for sale and the next page's
// token ("" on the last page).
func (s *services) listTickets(r *http.Request, limit int, page string) ([]ticket, string, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if page != "" {
		q.Set("page", page)
	}
	var list []ticket
	h, err := s.call(r, appTickets, http.MethodGet, "/api/tickets?"+q.Encode(), nil, &list)
	if err != nil {
		return nil, "", err
	}
	return list, nextPage(h.Values("Link")), nil
}

// nextPage returns the page token of the rel="next" link of Link header values
// such as `</api/tickets?limit=20&page=T>; rel="next"` (RFC 8288), or "".
func nextPage(links []string) string {
	for _, value := range links {
		for _, link := range strings.Split(value, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			if !relIsNext(params) {
				continue
			}
			u, err := url.Parse(target[1 : len(target)-1])
			if err != nil {
				continue
			}
			if page := u.Query().Get("page"); page != "" {
				return page
			}
		}
	}
	return ""
}

func relIsNext(params string) bool {
	for _, p := range strings.Split(params, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(value), `"`)) {
			if strings.EqualFold(rel, "next") {
				return true
			}
		}
	}
	return false
}

// ticket returns one ticket, reserved or not.
func (s *services) ticket(r *http.Request, id string) (ticket, error) {
	var t ticket
	_, err := s.call(r, appTickets, http.MethodGet, "/api/tickets/"+url.PathEscape(id), nil, &t)
	return t, err
}

// createTicket lists a ticket for the signed-in user.
func (s *services) createTicket(r *http.Request, in ticketInput) (ticket, error) {
	var t ticket
	_, err := s.call(r, appTickets, http.MethodPost, "/api/tickets", in, &t)
	return t, err
}

// updateTicket edits the owner's unreserved ticket.
func (s *services) updateTicket(r *http.Request, id string, in ticketInput) (ticket, error) {
	var t ticket
	_, err := s.call(r, appTickets, http.MethodPut, "/api/tickets/"+url.PathEscape(id), in, &t)
	return t, err
}

// Order statuses, as the orders service names them.
const (
	statusCreated         = "created"
	statusAwaitingPayment = "awaiting:payment"
	statusComplete        = "complete"
	statusCancelled       = "cancelled"
)

// order is a buyer's order with the ticket it holds.
type order struct {
	ID        string      `json:"id"`
	UserID    string      `json:"userId"`
	Status    string      `json:"status"`
	ExpiresAt time.Time   `json:"expiresAt"`
	Ticket    orderTicket `json:"ticket"`
	Version   int64       `json:"version"`
	CreatedAt time.Time   `json:"createdAt"`
}

// orderTicket is the ticket as it was when the order took it.
type orderTicket struct {
	ID    string  `json:"id"`
	Title string  `json:"title"`
	Price float64 `json:"price"`
}

// createOrder reserves a ticket for the signed-in user.
func (s *services) createOrder(r *http.Request, ticketID string) (order, error) {
	var o order
	_, err := s.call(r, appOrders, http.MethodPost, "/api/orders", map[string]string{"ticketId": ticketID}, &o)
	return o, err
}

// orders returns the signed-in user's orders.
func (s *services) orders(r *http.Request) ([]order, error) {
	var list []order
	_, err := s.call(r, appOrders, http.MethodGet, "/api/orders", nil, &list)
	return list, err
}

// order returns one of the signed-in user's orders.
func (s *services) order(r *http.Request, id string) (order, error) {
	var o order
	_, err := s.call(r, appOrders, http.MethodGet, "/api/orders/"+url.PathEscape(id), nil, &o)
	return o, err
}

// cancelOrder cancels one of the signed-in user's orders.
func (s *services) cancelOrder(r *http.Request, id string) error {
	_, err := s.call(r, appOrders, http.MethodDelete, "/api/orders/"+url.PathEscape(id), nil, nil)
	return err
}

// payment is payments' answer to paying an order: its id, and, when the
// buyer's bank asks them to authenticate (3-D Secure), what the browser needs
// to do it: the intent's client secret for Stripe.js, or the page to send the
// buyer to.
type payment struct {
	ID            string `json:"id"`
	Status        string `json:"status,omitempty"`
	ClientSecret  string `json:"clientSecret,omitempty"`
	NextActionURL string `json:"nextActionUrl,omitempty"`
}

// needsAction says whether the payment waits for the buyer to authenticate.
func (p payment) needsAction() bool { return p.Status == "requires_action" }

// pay pays for an order with a Stripe payment method (pm_..., from the
// Payment Element) or a test token (tok_...).
func (s *services) pay(r *http.Request, orderID, method string) (payment, error) {
	var p payment
	_, err := s.call(r, appPayments, http.MethodPost, "/api/payments", map[string]string{"token": method, "orderId": orderID}, &p)
	return p, err
}

// seller is the signed-in seller's payout account at Stripe (Connect).
type seller struct {
	AccountID string `json:"accountId"`
	Ready     bool   `json:"ready"`   // can receive transfers
	Payouts   bool   `json:"payouts"` // Stripe pays out to their bank
	URL       string `json:"url,omitempty"`
}

// seller returns the signed-in user's payout account, nil if they have none.
func (s *services) seller(r *http.Request) (*seller, error) {
	var out seller
	_, err := s.call(r, appPayments, http.MethodGet, "/api/payments/sellers/me", nil, &out)
	if errStatus(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// connectSeller makes (once) the user's payout account and a fresh link to
// Stripe's onboarding, which sends them back to the "Get paid" page.
func (s *services) connectSeller(r *http.Request) (seller, error) {
	var out seller
	_, err := s.call(r, appPayments, http.MethodPost, "/api/payments/sellers", map[string]string{}, &out)
	return out, err
}

// sales is what the signed-in seller sold, with totals in dollars.
type sales struct {
	Sales   []sale  `json:"sales"`
	Gross   float64 `json:"gross"`
	Fees    float64 `json:"fees"`
	Net     float64 `json:"net"`
	Paid    float64 `json:"paid"`
	Pending float64 `json:"pending"`
}

// sale is one payment for one of the seller's tickets.
type sale struct {
	OrderID  string    `json:"orderId"`
	Amount   float64   `json:"amount"`
	Fee      float64   `json:"fee"`
	Share    float64   `json:"share"`
	Status   string    `json:"status"`
	Transfer string    `json:"transfer,omitempty"`
	At       time.Time `json:"at"`
}

// sales returns the signed-in seller's sales.
func (s *services) sales(r *http.Request) (sales, error) {
	var out sales
	_, err := s.call(r, appPayments, http.MethodGet, "/api/payments/sales", nil, &out)
	return out, err
}

// errStatus is the status a failed call shows as: the service's, 503 when it
// did not answer, 500 for anything else.
func errStatus(err error) int {
	var se *serviceError
	if errors.As(err, &se) {
		return se.Status
	}
	return http.StatusInternalServerError
}
