package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/web"
)

var (
	//go:embed templates/*.html
	templateFS embed.FS
	//go:embed static
	staticFS embed.FS
)

// views renders the pages: one template set per page, each the layout plus
// that page's "content", executed with that page's data struct.
type views struct {
	log       *slog.Logger
	pages     map[string]*template.Template
	cssURL    string // the stylesheet, with its content hash so browsers may cache it for long
	stripeKey string
	now       func() time.Time
}

var templateFuncs = template.FuncMap{
	"price":       formatPrice,
	"when":        formatTime,
	"clock":       formatClock,
	"statusClass": func(s string) string { return strings.ReplaceAll(s, ":", "-") },
	"cents":       func(p float64) int64 { return int64(math.Round(p * 100)) },
	"payout":      payoutText,
	"payoutClass": payoutClass,
}

// payoutText says where a sale's money stands for its seller.
func payoutText(status, transfer string) string {
	switch {
	case status == "refunded":
		return "Refunded to the buyer"
	case transfer == "destination" || transfer == "sent":
		return "Paid to your account"
	case transfer == "pending":
		return "Waiting for your payout account"
	default:
		return transfer
	}
}

// payoutClass is the status colour of payoutText.
func payoutClass(status, transfer string) string {
	switch {
	case status == "refunded":
		return "cancelled"
	case transfer == "destination" || transfer == "sent":
		return "complete"
	default:
		return "created"
	}
}

func newViews(log *slog.Logger, stripeKey string) (*views, error) {
	layout, err := template.New("layout").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	v := &views{log: log, pages: map[string]*template.Template{}, stripeKey: stripeKey, now: time.Now}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, err
		}
		v.pages[name] = t
	}
	css, err := staticFS.ReadFile("static/style.css")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(css)
	v.cssURL = "/static/style.css?v=" + hex.EncodeToString(sum[:6])
	return v, nil
}

// layout is what every page shows around its content; each page's data
// struct embeds it.
type layout struct {
	Title string
	User  *user  // nil when nobody is signed in
	Nonce string // allows the page's inline scripts (Content-Security-Policy)
	CSS   string
}

func (v *views) layout(r *http.Request, title string) layout {
	return layout{Title: title, User: userFrom(r.Context()), Nonce: nonceFrom(r.Context()), CSS: v.cssURL}
}

// formErrors are a form's problems: each field's next to its field, the rest on top.
type formErrors struct {
	General []string
	Fields  map[string]string
}

// Field returns the problem with one field, or "".
func (e formErrors) Field(name string) string { return e.Fields[name] }

// formErrorsOf turns a service's refusal of a form into the form's problems,
// keeping field messages only for the form's own fields. ok is false when err
// is not something the user can fix by editing the form (an outage, a 404...).
func formErrorsOf(err error, fields ...string) (fe formErrors, status int, ok bool) {
	var se *serviceError
	if !errors.As(err, &se) || (se.Status != http.StatusBadRequest && se.Status != http.StatusUnprocessableEntity &&
		se.Status != http.StatusConflict && se.Status != http.StatusTooManyRequests) {
		return formErrors{}, 0, false
	}
	fe.General = append(fe.General, se.Messages...)
	for _, name := range slices.Sorted(maps.Keys(se.Fields)) {
		msg := se.Fields[name]
		if slices.Contains(fields, name) {
			if fe.Fields == nil {
				fe.Fields = map[string]string{}
			}
			fe.Fields[name] = msg
		} else {
			fe.General = append(fe.General, msg)
		}
	}
	return fe, se.Status, true
}

// render executes a page into a buffer first, so that a template error is a
// clean 500 rather than half a page.
func (v *views) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	t, ok := v.pages[page]
	if !ok {
		v.log.ErrorContext(r.Context(), "no such page template", "page", page, "request_id", web.RequestID(r.Context()))
		http.Error(w, "Something went wrong", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		v.log.ErrorContext(r.Context(), "render failed", "page", page, "request_id", web.RequestID(r.Context()), "err", err)
		http.Error(w, "Something went wrong", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store") // pages show who is signed in and live state
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// The data of each page.
type (
	landingPage struct {
		layout
		Tickets []ticket
		NextURL string // "" on the last page
		Paged   bool   // not the first page
	}
	authPage struct {
		layout
		Heading      string
		Action       string
		Submit       string
		Autocomplete string // the password's: new-password or current-password
		AltText      string
		AltURL       string
		AltLink      string
		Email        string
		Errors       formErrors
	}
	ticketFormPage struct {
		layout
		Heading  string
		Action   string
		Submit   string
		CancelTo string
		Title    string
		Price    string
		Locked   bool // reserved: cannot be edited
		Errors   formErrors
	}
	ticketPage struct {
		layout
		Ticket ticket
		Owner  bool
		Errors formErrors
	}
	ordersPage struct {
		layout
		Orders []order
	}
	orderPage struct {
		layout
		Order       order
		SecondsLeft int  // until expiresAt, rounded up
		Payable     bool // open and not expired
		Expired     bool // not paid and past expiresAt
		StripeKey   string
		// Authenticate is the client secret of a payment whose buyer's
		// bank asks them to authenticate, which the page does with Stripe.js.
		Authenticate string
		// Confirming: the buyer is back from their bank, and Stripe has not
		// yet told the marketplace how it ended.
		Confirming bool
		Errors     formErrors
	}
	sellerPage struct {
		layout
		Seller *seller // nil: no payout account yet
		Errors formErrors
	}
	salesPage struct {
		layout
		Sales sales
	}
	continuePage struct {
		layout
		Heading string
		Message string
		URL     string
		Link    string
	}
	errorPage struct {
		layout
		Status  int
		Heading string
		Message string
	}
)

// orderPage builds an order's page at the views' current time.
func (v *views) orderPage(r *http.Request, o order, errs formErrors) orderPage {
	left := int(math.Ceil(o.ExpiresAt.Sub(v.now()).Seconds()))
	open := o.Status == statusCreated || o.Status == statusAwaitingPayment
	if r.URL.Query().Get("payment_intent") != "" && o.Status == statusCreated && len(errs.General) == 0 {
		// Back from the bank, and the payment was given up: nothing taken.
		errs.General = []string{"Your bank did not confirm the payment, so nothing was charged. You can try again, with another card if you like."}
	}
	return orderPage{
		Confirming:  r.URL.Query().Get("payment_intent") != "" && o.Status == statusAwaitingPayment,
		layout:      v.layout(r, "Order: "+o.Ticket.Title),
		Order:       o,
		SecondsLeft: max(left, 0),
		Payable:     open && left > 0,
		Expired:     o.Status != statusComplete && left <= 0,
		StripeKey:   v.stripeKey,
		Errors:      errs,
	}
}

// formatPrice shows an amount in dollars and cents, with thousands separators: $1,250.50.
func formatPrice(p float64) string {
	cents := int64(math.Round(p * 100))
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	dollars := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	for i, d := range dollars {
		if i > 0 && (len(dollars)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return fmt.Sprintf("%s$%s.%02d", sign, b.String(), cents%100)
}

// formatTime shows a time for people, in UTC since the server does not know
// the reader's zone: "Jan 2, 2026, 3:04 PM UTC".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("Jan 2, 2006, 3:04 PM MST")
}

// formatClock shows seconds as minutes and seconds: 14:05.
func formatClock(secs int) string {
	return fmt.Sprintf("%d:%02d", secs/60, secs%60)
}

// The request context carries the signed-in user and the page's script nonce.
type ctxKey int

const (
	userKey ctxKey = iota
	nonceKey
)

func withUserContext(ctx context.Context, u *user) context.Context {
	return context.WithValue(ctx, userKey, u)
}

func userFrom(ctx context.Context) *user {
	u, _ := ctx.Value(userKey).(*user)
	return u
}

func nonceFrom(ctx context.Context) string {
	n, _ := ctx.Value(nonceKey).(string)
	return n
}
