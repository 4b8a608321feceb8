package main

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
)

// maxFormBytes bounds every form a page accepts.
const maxFormBytes = 64 << 10

// handleLanding lists one page of the tickets for sale; ?page= is the token of
// the tickets service's next-page link.
func handleLanding(v *views, svc *services, pageSize int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Query().Get("page")
		list, next, err := svc.listTickets(r, pageSize, page)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		data := landingPage{layout: v.layout(r, "Tickets for sale"), Tickets: list, Paged: page != ""}
		if next != "" {
			data.NextURL = "/?" + url.Values{"page": {next}}.Encode()
		}
		v.render(w, r, http.StatusOK, "landing", data)
	})
}

// authForm is what differs between the sign-up and the sign-in pages.
type authForm struct {
	title  string
	page   authPage
	submit func(*services, *http.Request, credentials) ([]string, error)
}

var (
	signupForm = authForm{
		title: "Sign up",
		page: authPage{Heading: "Create your account", Action: "/auth/signup", Submit: "Sign up",
			Autocomplete: "new-password", AltText: "Already have an account?", AltURL: "/auth/signin", AltLink: "Sign in"},
		submit: (*services).signup,
	}
	signinForm = authForm{
		title: "Sign in",
		page: authPage{Heading: "Sign in", Action: "/auth/signin", Submit: "Sign in",
			Autocomplete: "current-password", AltText: "New here?", AltURL: "/auth/signup", AltLink: "Create an account"},
		submit: (*services).signin,
	}
)

func handleAuthForm(v *views, form authForm) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := form.page
		data.layout = v.layout(r, form.title)
		v.render(w, r, http.StatusOK, "auth", data)
	})
}

// handleAuthSubmit signs up or in through auth and hands auth's session cookie
// to the browser; a refusal re-renders the form with the email kept (never the
// password) and each problem next to its field.
func handleAuthSubmit(v *views, svc *services, form authForm) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r); err != nil {
			v.fail(w, r, err)
			return
		}
		in := credentials{Email: r.PostForm.Get("email"), Password: r.PostForm.Get("password")}
		cookies, err := form.submit(svc, r, in)
		if fe, status, ok := formErrorsOf(err, "email", "password"); ok {
			data := form.page
			data.layout = v.layout(r, form.title)
			data.Email, data.Errors = in.Email, fe
			v.render(w, r, status, "auth", data)
			return
		}
		if err != nil {
			v.fail(w, r, err)
			return
		}
		relayCookies(w, cookies)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
}

// handleSignout has auth clear the session cookie.
func handleSignout(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookies, err := svc.signout(r)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		relayCookies(w, cookies)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
}

func relayCookies(w http.ResponseWriter, cookies []string) {
	for _, c := range cookies {
		w.Header().Add("Set-Cookie", c)
	}
}

func newTicketPage(v *views, r *http.Request) ticketFormPage {
	return ticketFormPage{layout: v.layout(r, "Sell a ticket"), Heading: "Sell a ticket",
		Action: "/tickets/new", Submit: "List ticket", CancelTo: "/"}
}

func handleNewTicket(v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.render(w, r, http.StatusOK, "ticket_form", newTicketPage(v, r))
	})
}

// handleCreateTicket lists a ticket and shows it.
func handleCreateTicket(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r); err != nil {
			v.fail(w, r, err)
			return
		}
		data := newTicketPage(v, r)
		data.Title, data.Price = r.PostForm.Get("title"), r.PostForm.Get("price")
		in, fe := ticketFromForm(data.Title, data.Price)
		if fe.Fields != nil {
			data.Errors = fe
			v.render(w, r, http.StatusBadRequest, "ticket_form", data)
			return
		}
		t, err := svc.createTicket(r, in)
		if fe, status, ok := formErrorsOf(err, "title", "price"); ok {
			data.Errors = fe
			v.render(w, r, status, "ticket_form", data)
			return
		}
		if err != nil {
			v.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/tickets/"+url.PathEscape(t.ID), http.StatusSeeOther)
	})
}

// ticketFromForm reads the ticket form. A price that is no number is caught
// here, since the JSON body cannot carry it; every other rule is the tickets
// service's.
func ticketFromForm(title, price string) (ticketInput, formErrors) {
	p, ok := parsePrice(price)
	if !ok {
		return ticketInput{}, formErrors{Fields: map[string]string{"price": "Price must be a number, such as 12.50"}}
	}
	return ticketInput{Title: title, Price: p}, formErrors{}
}

// parsePrice accepts what people type for an amount: "12.5", "$12.50", "1,250".
func parsePrice(s string) (float64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	s = strings.ReplaceAll(s, ",", "")
	p, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
		return 0, false
	}
	return p, true
}

// handleShowTicket shows a ticket with what the viewer may do with it:
// purchase it, edit it (its owner), or nothing (it is reserved).
func handleShowTicket(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := svc.ticket(r, mux.Vars(r)["id"])
		if err != nil {
			v.fail(w, r, err)
			return
		}
		v.render(w, r, http.StatusOK, "ticket", ticketPageOf(v, r, t, formErrors{}))
	})
}

func ticketPageOf(v *views, r *http.Request, t ticket, fe formErrors) ticketPage {
	u := userFrom(r.Context())
	return ticketPage{layout: v.layout(r, t.Title), Ticket: t, Owner: u != nil && u.ID == t.UserID, Errors: fe}
}

// handlePurchase orders the ticket and shows the order; a refusal ("Ticket is
// already reserved") is shown on the ticket's page.
func handlePurchase(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ticketID := mux.Vars(r)["id"]
		o, err := svc.createOrder(r, ticketID)
		if fe, status, refused := formErrorsOf(err); refused {
			t, err := svc.ticket(r, ticketID)
			if err != nil {
				v.fail(w, r, err)
				return
			}
			v.render(w, r, status, "ticket", ticketPageOf(v, r, t, fe))
			return
		}
		if err != nil {
			v.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/orders/"+url.PathEscape(o.ID), http.StatusSeeOther)
	})
}

var errNotYourTicket = &pageError{Status: http.StatusForbidden, Heading: "Not your ticket",
	Message: "Only the seller of a ticket can edit it."}

func editTicketPage(v *views, r *http.Request, t ticket) ticketFormPage {
	return ticketFormPage{layout: v.layout(r, "Edit "+t.Title), Heading: "Edit ticket",
		Action: "/tickets/" + url.PathEscape(t.ID) + "/edit", Submit: "Save changes", CancelTo: "/tickets/" + url.PathEscape(t.ID),
		Title: t.Title, Price: strconv.FormatFloat(t.Price, 'f', 2, 64), Locked: t.OrderID != ""}
}

// handleEditTicket shows the owner's ticket in a form; a reserved ticket
// cannot be edited, and says so.
func handleEditTicket(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := svc.ticket(r, mux.Vars(r)["id"])
		if err != nil {
			v.fail(w, r, err)
			return
		}
		if t.UserID != userFrom(r.Context()).ID {
			v.fail(w, r, errNotYourTicket)
			return
		}
		data := editTicketPage(v, r, t)
		if data.Locked {
			data.Errors.General = []string{"This ticket is reserved by an order, so it cannot be edited."}
		}
		v.render(w, r, http.StatusOK, "ticket_form", data)
	})
}

// handleUpdateTicket saves the owner's changes and shows the ticket.
func handleUpdateTicket(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r); err != nil {
			v.fail(w, r, err)
			return
		}
		ticketID := mux.Vars(r)["id"]
		data := editTicketPage(v, r, ticket{ID: ticketID})
		data.Title, data.Price = r.PostForm.Get("title"), r.PostForm.Get("price")
		in, fe := ticketFromForm(data.Title, data.Price)
		if fe.Fields != nil {
			data.Errors = fe
			v.render(w, r, http.StatusBadRequest, "ticket_form", data)
			return
		}
		_, err := svc.updateTicket(r, ticketID, in)
		if fe, status, ok := formErrorsOf(err, "title", "price"); ok {
			data.Errors = fe
			v.render(w, r, status, "ticket_form", data)
			return
		}
		if errStatus(err) == http.StatusUnauthorized {
			err = errNotYourTicket
		}
		if err != nil {
			v.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/tickets/"+url.PathEscape(ticketID), http.StatusSeeOther)
	})
}

// handleOrders lists the user's orders.
func handleOrders(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := svc.orders(r)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		v.render(w, r, http.StatusOK, "orders", ordersPage{layout: v.layout(r, "My orders"), Orders: list})
	})
}

// handleShowOrder shows an order: its status, the time left to pay, and the
// payment form while it can be paid.
func handleShowOrder(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		showOrder(w, r, v, svc, http.StatusOK, formErrors{})
	})
}

// showOrder renders the order of the path with a status and problems.
func showOrder(w http.ResponseWriter, r *http.Request, v *views, svc *services, status int, fe formErrors) {
	o, err := svc.order(r, mux.Vars(r)["id"])
	if err != nil {
		v.fail(w, r, err)
		return
	}
	v.render(w, r, status, "order", v.orderPage(r, o, fe))
}

// handlePay pays for the order with the payment method of the payment form
// (the Payment Element's, or a test card in test mode) and shows the user's
// orders; a refusal is shown on the order's page. When the buyer's bank asks
// them to authenticate, the next page does it: with Stripe.js when a
// publishable key is set, otherwise on the bank's own page, which sends the
// buyer back to the order.
func handlePay(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r); err != nil {
			v.fail(w, r, err)
			return
		}
		method := strings.TrimSpace(r.PostForm.Get("token"))
		if method == "" {
			showOrder(w, r, v, svc, http.StatusBadRequest, formErrors{General: []string{"Enter your card details to pay."}})
			return
		}
		orderID := mux.Vars(r)["id"]
		p, err := svc.pay(r, orderID, method)
		if fe, status, ok := formErrorsOf(err); ok {
			showOrder(w, r, v, svc, status, fe)
			return
		}
		if err != nil {
			v.fail(w, r, err)
			return
		}
		if !p.needsAction() {
			http.Redirect(w, r, "/orders", http.StatusSeeOther)
			return
		}
		if v.stripeKey != "" && p.ClientSecret != "" {
			o, err := svc.order(r, orderID)
			if err != nil {
				v.fail(w, r, err)
				return
			}
			page := v.orderPage(r, o, formErrors{})
			page.Authenticate = p.ClientSecret
			v.render(w, r, http.StatusAccepted, "order", page)
			return
		}
		if p.NextActionURL != "" {
			v.render(w, r, http.StatusAccepted, "continue", continuePage{layout: v.layout(r, "Confirm with your bank"),
				Heading: "Confirm with your bank", Message: "Your bank asks you to confirm this payment on its page, which then brings you back to your order.",
				URL: p.NextActionURL, Link: "Go to your bank"})
			return
		}
		showOrder(w, r, v, svc, http.StatusAccepted, formErrors{General: []string{"Your bank asks you to confirm this payment, which needs Stripe on this page; it is not set up here."}})
	})
}

// handleCancelOrder cancels the order, which releases its ticket.
func handleCancelOrder(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orderID := mux.Vars(r)["id"]
		err := svc.cancelOrder(r, orderID)
		if fe, status, ok := formErrorsOf(err); ok {
			showOrder(w, r, v, svc, status, fe)
			return
		}
		if err != nil {
			v.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/orders/"+url.PathEscape(orderID), http.StatusSeeOther)
	})
}

// parseForm reads a POSTed form, bounded in size; a form that cannot be read
// is a 400 page.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return errBadForm
	}
	return nil
}

// handleGetPaid shows the seller's payout account at Stripe, and a button to
// connect one, or to finish setting it up.
func handleGetPaid(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := svc.seller(r)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		v.render(w, r, http.StatusOK, "seller", sellerPage{layout: v.layout(r, "Get paid"), Seller: s})
	})
}

// handleConnectPayouts makes the seller's payout account (once) and sends
// them to Stripe's onboarding, which brings them back to "Get paid".
func handleConnectPayouts(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := svc.connectSeller(r)
		if fe, status, ok := formErrorsOf(err); ok {
			cur, _ := svc.seller(r)
			v.render(w, r, status, "seller", sellerPage{layout: v.layout(r, "Get paid"), Seller: cur, Errors: fe})
			return
		}
		if err == nil && s.URL == "" {
			err = &serviceError{Service: appPayments, Status: http.StatusServiceUnavailable, Messages: []string{"no onboarding link"}}
		}
		if err != nil {
			v.fail(w, r, err)
			return
		}
		// A page, not a redirect: a form's redirect to another site is
		// refused by the page's Content-Security-Policy (form-action 'self').
		v.render(w, r, http.StatusOK, "continue", continuePage{layout: v.layout(r, "Get paid"),
			Heading: "Set up payouts with Stripe", Message: "Stripe asks for your details and bank account, then brings you back here.",
			URL: s.URL, Link: "Continue to Stripe"})
	})
}

// handleSales shows what the seller sold, the marketplace's fees, and where
// each sale's money stands.
func handleSales(v *views, svc *services) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := svc.sales(r)
		if err != nil {
			v.fail(w, r, err)
			return
		}
		v.render(w, r, http.StatusOK, "sales", salesPage{layout: v.layout(r, "My sales"), Sales: s})
	})
}
