package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/invoke"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// testWebhookSecret is what the test app verifies webhook signatures with.
const testWebhookSecret = "whsec_test_secret"

// testApp is the whole service over the in-memory sidecar fakes, a fake
// Stripe and a fake orders, with a real signing key: requests, webhooks and
// internal calls go through newServer as in production.
type testApp struct {
	t      *testing.T
	state  *sidecartest.State
	pub    *sidecartest.Publisher
	stripe *fakeStripe
	orders *fakeOrders
	payer  *payer
	keys   *auth.Keys
	h      http.Handler
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	keys, err := auth.NewKeys([]byte("a-test-signing-key-of-32-bytes!!"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	state, pub := sidecartest.NewState(), &sidecartest.Publisher{}
	a := &testApp{t: t, state: state, pub: pub, stripe: newFakeStripe(), orders: newFakeOrders(), keys: keys}
	a.payer = &payer{log: log, payments: newPaymentStore(store.New(state, pub, log)), stripe: a.stripe, orders: a.orders,
		takeoverAfter: cfg.TakeoverAfter, actionWindow: cfg.ActionWindow, feeBP: cfg.feeBasisPoints(), destinations: newDestinations(destinationsTTL)}
	a.h = newServer(log, cfg, keys, a.payer, testWebhookSecret)
	return a
}

// pay posts a payment for orderID as userID with method.
func (a *testApp) pay(orderID, userID, method string) *httptest.ResponseRecorder {
	a.t.Helper()
	return a.do(http.MethodPost, "/api/payments", `{"token":"`+method+`","orderId":"`+orderID+`"}`, userID)
}

func (a *testApp) do(method, path, body, userID string) *httptest.ResponseRecorder {
	a.t.Helper()
	return sidecartest.Request(a.t, a.h, a.keys, method, path, body, userID)
}

// call invokes an internal route as caller's sidecar would.
func (a *testApp) call(caller, path string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(invoke.CallerHeader, caller)
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

// payment reads an order's payment back; found is false if there is none.
func (a *testApp) payment(orderID string) (p Payment, found bool) {
	a.t.Helper()
	it, err := a.state.Get(context.Background(), paymentKey(orderID))
	if err != nil {
		a.t.Fatal(err)
	}
	if !it.Found() {
		return Payment{}, false
	}
	if err := it.Decode(&p); err != nil {
		a.t.Fatal(err)
	}
	return p, true
}

// putPayment stores a payment directly.
func (a *testApp) putPayment(p Payment) {
	a.t.Helper()
	if err := a.state.Transact(context.Background(), store.Op{Key: paymentKey(p.OrderID), Value: p}); err != nil {
		a.t.Fatal(err)
	}
}

// published returns the ids of the events published so far, in order.
func (a *testApp) published() []string {
	var ids []string
	for _, m := range a.pub.Messages() {
		ids = append(ids, m.ID)
	}
	return ids
}

// errorBody decodes the original's error shape.
func errorBody(t *testing.T, w *httptest.ResponseRecorder) web.ErrorBody {
	t.Helper()
	var b web.ErrorBody
	if err := json.NewDecoder(w.Body).Decode(&b); err != nil {
		t.Fatalf("error body: %v", err)
	}
	return b
}

// fakeOrders is orders as payments sees it through invoke: the authority on
// each order's status.
type fakeOrders struct {
	mu          sync.Mutex
	orders      map[string]*invoke.Payable
	paid        []string
	unpaid      []string
	unreachable bool
	// paidFailures is how many Paid calls fail (an answer of 5xx) first.
	paidFailures int
	// cancelAfterPay names an order orders cancels right after holding it.
	cancelAfterPay string
}

func newFakeOrders() *fakeOrders { return &fakeOrders{orders: map[string]*invoke.Payable{}} }

// add makes an order of buyer at price, created.
func (f *fakeOrders) add(id, buyer string, price float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orders[id] = &invoke.Payable{ID: id, UserID: buyer, Status: "created", Price: price, TicketID: "t-" + id, SellerID: "seller", ExpiresAt: time.Now().Add(time.Hour)}
}

func (f *fakeOrders) setStatus(id, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orders[id].Status = status
}

func (f *fakeOrders) status(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.orders[id].Status
}

func refusedBy(code apperr.Code, msg string) error {
	return &invoke.Refusal{Err: fmt.Errorf("orders: %w", &apperr.Error{Code: code, Message: msg})}
}

func (f *fakeOrders) Pay(_ context.Context, orderID, userID string) (invoke.Payable, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unreachable {
		return invoke.Payable{}, invoke.ErrUnreachable
	}
	o, ok := f.orders[orderID]
	switch {
	case !ok:
		return invoke.Payable{}, refusedBy(apperr.NotFound, "Not Found")
	case o.UserID != userID:
		return invoke.Payable{}, refusedBy(apperr.Unauthorized, "Not authorized")
	case o.Status == "cancelled":
		return invoke.Payable{}, refusedBy(apperr.Rule, "Cannot pay for an cancelled order")
	case o.Status == "complete":
		return invoke.Payable{}, refusedBy(apperr.Rule, "Order has already been paid")
	}
	o.Status = "awaiting:payment"
	held := *o
	if orderID == f.cancelAfterPay {
		o.Status = "cancelled"
	}
	return held, nil
}

func (f *fakeOrders) Paid(_ context.Context, orderID string, _ invoke.PaidRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unreachable {
		return invoke.ErrUnreachable
	}
	if f.paidFailures > 0 {
		f.paidFailures--
		return fmt.Errorf("%w: orders answered 500", invoke.ErrUnreachable)
	}
	f.paid = append(f.paid, orderID)
	if o := f.orders[orderID]; o != nil {
		if o.Status == "cancelled" {
			return refusedBy(apperr.Conflict, "The order was cancelled")
		}
		o.Status = "complete"
	}
	return nil
}

func (f *fakeOrders) Unpaid(_ context.Context, orderID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unreachable {
		return invoke.ErrUnreachable
	}
	f.unpaid = append(f.unpaid, orderID)
	if o := f.orders[orderID]; o != nil && o.Status == "awaiting:payment" {
		o.Status = "created"
	}
	return nil
}

// fakeStripe is Stripe for one marketplace: intents made under idempotency
// keys (a repeated creation finds the same intent), confirmed by the test
// payment method's outcome: a method containing "Declined" is declined,
// "threeDSecure" asks for authentication, "down" finds Stripe unreachable,
// anything else succeeds.
type fakeStripe struct {
	mu       sync.Mutex
	intents  map[string]*Intent // by id
	byKey    map[string]string  // intent id by creation key
	methods  map[string]string  // the method of each intent
	confirms int
	cancels  int
	refunds  []Refund
	// down makes every call fail as unreachable.
	down bool
	// Connect: accounts by seller, transfers (amount by order), reversals.
	accounts  map[string]string
	transfers map[string]int64
	reversals []string
	// destinations records each intent's destination and fee.
	destinations map[string][2]string
}

func newFakeStripe() *fakeStripe {
	return &fakeStripe{intents: map[string]*Intent{}, byKey: map[string]string{}, methods: map[string]string{},
		accounts: map[string]string{}, transfers: map[string]int64{}, destinations: map[string][2]string{}}
}

func (f *fakeStripe) createAccount(_ context.Context, sellerID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return "", fmt.Errorf("%w: connection refused", ErrProviderUnavailable)
	}
	if id, ok := f.accounts[sellerID]; ok {
		return id, nil
	}
	f.accounts[sellerID] = "acct_" + sellerID
	return f.accounts[sellerID], nil
}

func (f *fakeStripe) accountLink(_ context.Context, accountID, refreshURL, returnURL string) (string, error) {
	return "https://connect.stripe.test/setup/" + accountID + "?return=" + returnURL, nil
}

func (f *fakeStripe) transfer(_ context.Context, p Payment, accountID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.transfers[p.OrderID] = p.Share() // once per order: the key is the order's
	return "tr_" + p.OrderID, nil
}

func (f *fakeStripe) reverse(_ context.Context, transferID string, amount int64, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reversals = append(f.reversals, transferID)
	return nil
}

func (f *fakeStripe) find(_ context.Context, a Payment) (Intent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down || a.Method == "down" {
		return Intent{}, fmt.Errorf("%w: connection refused", ErrProviderUnavailable)
	}
	if a.IntentID != "" {
		if in, ok := f.intents[a.IntentID]; ok {
			return *in, nil
		}
	}
	if id, ok := f.byKey[a.key("intent")]; ok {
		return *f.intents[id], nil
	}
	id := fmt.Sprintf("pi_%d", len(f.intents)+1)
	f.intents[id] = &Intent{ID: id, Status: stripe.PaymentIntentStatusRequiresConfirmation, Amount: a.Amount, ClientSecret: id + "_secret"}
	f.byKey[a.key("intent")] = id
	f.methods[id] = a.Method
	f.destinations[id] = [2]string{a.Destination, fmt.Sprint(a.Fee)}
	return *f.intents[id], nil
}

func (f *fakeStripe) pay(ctx context.Context, a Payment) (Intent, error) {
	in, err := f.find(ctx, a)
	if err != nil {
		return in, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := f.intents[in.ID]
	if cur.Status != stripe.PaymentIntentStatusRequiresConfirmation {
		return *cur, nil
	}
	f.confirms++
	switch m := f.methods[in.ID]; {
	case strings.Contains(m, "Declined"):
		cur.Status = stripe.PaymentIntentStatusRequiresPaymentMethod
		return Intent{}, notCharged(apperr.New(apperr.Rule, "Your card was declined."))
	case strings.Contains(m, "threeDSecure"):
		cur.Status = stripe.PaymentIntentStatusRequiresAction
	default:
		cur.Status, cur.ChargeID = stripe.PaymentIntentStatusSucceeded, "ch_"+in.ID
	}
	return *cur, nil
}

func (f *fakeStripe) cancel(_ context.Context, id string) (Intent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return Intent{}, fmt.Errorf("%w: connection refused", ErrProviderUnavailable)
	}
	in := f.intents[id]
	if in.Status != stripe.PaymentIntentStatusSucceeded {
		in.Status = stripe.PaymentIntentStatusCanceled
		f.cancels++
	}
	return *in, nil
}

func (f *fakeStripe) refund(_ context.Context, r Refund) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, done := range f.refunds {
		if done.IdempotencyKey == r.IdempotencyKey {
			return nil
		}
	}
	f.refunds = append(f.refunds, r)
	return nil
}

// authenticate is the buyer completing 3-D Secure for an intent.
func (f *fakeStripe) authenticate(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intents[id].Status, f.intents[id].ChargeID = stripe.PaymentIntentStatusSucceeded, "ch_"+id
}

func (f *fakeStripe) counts() (confirms, cancels, refunds int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.confirms, f.cancels, len(f.refunds)
}
