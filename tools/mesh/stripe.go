package mesh

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

func (m *Mesh) stripeMockProc() *Proc {
	return m.proc("stripe-mock", "infra", m.bin("stripe-mock"), []string{
		"-http-addr", fmt.Sprintf("127.0.0.1:%d", m.ports.StripeMock),
		"-https-addr", fmt.Sprintf("127.0.0.1:%d", m.ports.StripeTLS),
	})
}

// StripeURL is stripe-mock's base URL.
func (m *Mesh) StripeURL() string { return fmt.Sprintf("http://127.0.0.1:%d", m.ports.StripeMock) }

// StripeCall is one request the apps sent to the Stripe API.
type StripeCall struct {
	Method         string
	Path           string
	IdempotencyKey string
	// OrderID is the order the call is for: metadata[orderId] of the
	// request, or of the intent it acts on.
	OrderID string
	// IntentID is the PaymentIntent the call made or acted on; Amount the
	// intent's (cents); Outcome, for a confirmation, the intent's status
	// after it ("succeeded", "requires_action", "declined"), for a refund
	// "refunded", for a cancellation "canceled".
	IntentID string
	Amount   int64
	Outcome  string
	Status   int
	// Replayed: answered with an earlier answer to the same idempotency key,
	// as Stripe does; nothing was done again.
	Replayed bool
	// ReverseTransfer: a refund that takes a destination charge's transfer
	// and fee back.
	ReverseTransfer bool
	// Destination: the connected account a transfer went to.
	Destination string
	At          time.Time
}

// Succeeded reports whether the call took money: a confirmation that
// succeeded, not a replay of one.
func (c StripeCall) Succeeded() bool { return c.Outcome == "succeeded" && !c.Replayed }

// RecorderCallsPath is where the recorder lists, as JSON, every call it has
// seen: the load generator's checker counts payments there. The recorder's
// address is in the mesh's data directory, in the file RecorderFile.
// RecorderAuthenticatePath + an intent id is the buyer's bank's 3-D Secure
// page for it (GET; a POST completes it, or fails it with action=fail);
// RecorderOnboardPath + an account id is the seller
// completing Connect onboarding (GET, where the account links point).
const (
	RecorderCallsPath        = "/_recorder/calls"
	RecorderIntentsPath      = "/_recorder/intents"
	RecorderAuthenticatePath = "/_recorder/authenticate/"
	RecorderOnboardPath      = "/_recorder/onboard/"
	RecorderFile             = "stripe-recorder.url"
)

// stripeRecorder is the apps' Stripe locally: it sits in front of
// stripe-mock, which validates every request against Stripe's API and
// answers it, and adds what a Stripe test-mode account does and stripe-mock
// does not: it keeps each PaymentIntent's state, decides a confirmation's
// outcome by Stripe's test payment methods (tokens and payment methods
// containing "Declined" are declined with a card error, "threeDSecure" or
// "authenticationRequired" ask the buyer to authenticate, anything else
// succeeds), refuses to cancel an intent that succeeded, and answers a
// request repeated under an idempotency key with its first answer. It
// records every call, so "paid once" is proven by counting here, at the edge.
//
// For Connect it keeps each connected account, points account links at its
// own onboarding page (visiting it completes onboarding: the account can
// receive transfers), and, as Stripe does, sends the apps signed webhooks:
// account.updated when an account is onboarded, payment_intent.succeeded
// when a buyer authenticates (see webhooks).
type stripeRecorder struct {
	target string
	http   *http.Client
	srv    *http.Server
	addr   string

	mu       sync.Mutex
	calls    []StripeCall
	answers  map[string]answer // by idempotency key
	intents  map[string]*intent
	methods  map[string]string // what each payment method was made from (a token)
	accounts map[string]*account
	orderOf  map[string]string // the order of each transfer, by transfer id
	// hook is where Stripe's webhooks go, and the secret that signs them
	// (none until the mesh's public origin is up).
	hookURL, hookSecret string
}

type account struct {
	metadata map[string]string
	ready    bool
}

type answer struct {
	route  string // method and path
	status int
	body   []byte
}

type intent struct {
	status       string
	amount       int64
	method       string
	metadata     map[string]string
	clientSecret string
	charge       string
	destination  string // a destination charge's connected account
	fee          int64  // its application fee, cents
	returnURL    string // where the bank's page sends the buyer back (confirmed with return_url)
}

func startStripeRecorder(target string) (*stripeRecorder, error) {
	rec := &stripeRecorder{
		target: target, http: &http.Client{Timeout: 30 * time.Second},
		answers: map[string]answer{}, intents: map[string]*intent{}, methods: map[string]string{}, accounts: map[string]*account{}, orderOf: map[string]string{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rec.addr = ln.Addr().String()
	rec.srv = &http.Server{Handler: rec, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rec.srv.Serve(ln) }()
	return rec, nil
}

func (s *stripeRecorder) url() string { return fmt.Sprintf("http://%s", s.addr) }

func (s *stripeRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == RecorderCallsPath:
		s.mu.Lock()
		b, _ := json.Marshal(s.calls)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	case r.URL.Path == RecorderIntentsPath:
		b, _ := json.Marshal(s.intentList())
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
		return
	case strings.HasPrefix(r.URL.Path, RecorderAuthenticatePath):
		s.authenticate(w, r, strings.TrimPrefix(r.URL.Path, RecorderAuthenticatePath))
		return
	case strings.HasPrefix(r.URL.Path, RecorderOnboardPath) && r.Method == http.MethodGet:
		id := strings.TrimPrefix(r.URL.Path, RecorderOnboardPath)
		s.mu.Lock()
		a := s.accounts[id]
		if a != nil {
			a.ready = true
		}
		s.mu.Unlock()
		if a == nil {
			http.NotFound(w, r)
			return
		}
		s.webhook("account.updated", id, map[string]any{
			"id": id, "object": "account", "type": "express", "metadata": a.metadata,
			"charges_enabled": true, "payouts_enabled": true, "details_submitted": true,
			"capabilities": map[string]any{"card_payments": "active", "transfers": "active"},
		})
		back := r.URL.Query().Get("return")
		if back == "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	form, _ := url.ParseQuery(string(body))
	call := StripeCall{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key"), At: time.Now(), OrderID: form.Get("metadata[orderId]")}
	route := r.Method + " " + r.URL.Path

	s.mu.Lock()
	if a, ok := s.answers[call.IdempotencyKey]; ok && call.IdempotencyKey != "" && a.route == route {
		call.Status, call.Replayed = a.status, true
		s.fill(&call, a.body)
		s.calls = append(s.calls, call)
		s.mu.Unlock()
		write(w, a.status, a.body)
		return
	}
	s.mu.Unlock()

	status, out, err := s.handle(r, body, form, &call)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	s.mu.Lock()
	call.Status = status
	if call.IdempotencyKey != "" && r.Method == http.MethodPost && status != http.StatusConflict {
		s.answers[call.IdempotencyKey] = answer{route: route, status: status, body: out}
	}
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	write(w, status, out)
}

// handle answers one request, keeping the intents' state.
func (s *stripeRecorder) handle(r *http.Request, body []byte, form url.Values, call *StripeCall) (int, []byte, error) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // v1, payment_intents, {id}, confirm
	isIntents := len(parts) >= 2 && parts[1] == "payment_intents"
	if isIntents && len(parts) == 4 && parts[3] == "confirm" && r.Method == http.MethodPost {
		if status, out, decided := s.decline(parts[2], form, call); decided {
			return status, out, nil
		}
	}
	if isIntents && len(parts) == 4 && parts[3] == "cancel" && r.Method == http.MethodPost {
		s.mu.Lock()
		in := s.intents[parts[2]]
		succeeded := in != nil && in.status == "succeeded"
		s.mu.Unlock()
		if succeeded {
			call.IntentID, call.OrderID = parts[2], in.metadata["orderId"]
			return http.StatusBadRequest, stripeError("invalid_request_error", "payment_intent_unexpected_state",
				"You cannot cancel this PaymentIntent because it has a status of succeeded.", ""), nil
		}
	}
	status, out, err := s.forward(r, body)
	if err != nil || status/100 != 2 {
		return status, out, err
	}
	var obj map[string]any
	if json.Unmarshal(out, &obj) != nil {
		return status, out, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(parts) == 2 && parts[1] == "payment_methods" && r.Method == http.MethodPost:
		if id, _ := obj["id"].(string); id != "" {
			s.methods[id] = form.Get("card[token]")
		}
	case len(parts) == 2 && parts[1] == "accounts" && r.Method == http.MethodPost:
		id, _ := obj["id"].(string)
		a := &account{metadata: metadataOf(form)}
		s.accounts[id] = a
		obj["metadata"], obj["type"] = a.metadata, "express"
		out, _ = json.Marshal(obj)
	case len(parts) == 2 && parts[1] == "account_links" && r.Method == http.MethodPost:
		// Stripe's hosted onboarding is this recorder's page locally.
		q := url.Values{"return": {form.Get("return_url")}}
		obj["url"] = s.url() + RecorderOnboardPath + form.Get("account") + "?" + q.Encode()
		out, _ = json.Marshal(obj)
	case len(parts) == 2 && parts[1] == "transfers" && r.Method == http.MethodPost:
		call.Amount, _ = strconv.ParseInt(form.Get("amount"), 10, 64)
		call.Outcome, call.Destination = "transferred", form.Get("destination")
		if id, _ := obj["id"].(string); id != "" {
			s.orderOf[id] = call.OrderID
		}
	case len(parts) == 4 && parts[1] == "transfers" && parts[3] == "reversals" && r.Method == http.MethodPost:
		call.Amount, _ = strconv.ParseInt(form.Get("amount"), 10, 64)
		call.Outcome, call.OrderID = "reversed", s.orderOf[parts[2]]
	case isIntents && len(parts) == 2 && r.Method == http.MethodPost: // create
		id, _ := obj["id"].(string)
		amount, _ := strconv.ParseInt(form.Get("amount"), 10, 64)
		in := &intent{status: "requires_payment_method", amount: amount, method: form.Get("payment_method"), metadata: metadataOf(form),
			clientSecret: id + "_secret_test", destination: form.Get("transfer_data[destination]")}
		in.fee, _ = strconv.ParseInt(form.Get("application_fee_amount"), 10, 64)
		if in.method != "" {
			in.status = "requires_confirmation"
		}
		s.intents[id] = in
		if form.Get("confirm") == "true" {
			in.status, in.returnURL = s.outcomeOf(in.method), form.Get("return_url")
			call.Outcome = in.status
		}
		out = s.patch(obj, id, in)
		call.IntentID, call.Amount = id, amount
	case isIntents && len(parts) >= 3:
		in := s.intents[parts[2]]
		if in == nil {
			break
		}
		if len(parts) == 4 && parts[3] == "confirm" {
			if m := form.Get("payment_method"); m != "" {
				in.method = m
			}
			in.returnURL = form.Get("return_url")
			if in.status == "requires_confirmation" || in.status == "requires_payment_method" {
				in.status = s.outcomeOf(in.method)
			}
			call.Outcome = in.status
		}
		if len(parts) == 4 && parts[3] == "cancel" {
			in.status, call.Outcome = "canceled", "canceled"
		}
		out = s.patch(obj, parts[2], in)
		call.IntentID, call.Amount, call.OrderID = parts[2], in.amount, in.metadata["orderId"]
	case len(parts) == 2 && parts[1] == "refunds" && r.Method == http.MethodPost:
		id := form.Get("payment_intent")
		call.IntentID, call.Outcome, call.ReverseTransfer = id, "refunded", form.Get("reverse_transfer") == "true"
		if in := s.intents[id]; in != nil {
			call.Amount, call.OrderID = in.amount, in.metadata["orderId"]
		}
	}
	return status, out, nil
}

// decline answers a confirmation whose payment method Stripe's test mode
// declines: a 402 card error carrying the intent, as Stripe answers it.
func (s *stripeRecorder) decline(id string, form url.Values, call *StripeCall) (int, []byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.intents[id]
	if in == nil {
		return 0, nil, false
	}
	if m := form.Get("payment_method"); m != "" {
		in.method = m
	}
	if (in.status != "requires_confirmation" && in.status != "requires_payment_method") || s.outcomeOf(in.method) != "declined" {
		return 0, nil, false
	}
	in.status = "requires_payment_method"
	call.IntentID, call.Amount, call.OrderID, call.Outcome = id, in.amount, in.metadata["orderId"], "declined"
	return http.StatusPaymentRequired, stripeError("card_error", "card_declined", "Your card was declined.", id), true
}

// outcomeOf is what confirming with method does in Stripe's test mode.
func (s *stripeRecorder) outcomeOf(method string) string {
	if from, ok := s.methods[method]; ok && from != "" {
		method = from
	}
	switch m := strings.ToLower(method); {
	case strings.Contains(m, "declined"):
		return "declined"
	case strings.Contains(m, "threedsecure"), strings.Contains(m, "authenticationrequired"):
		return "requires_action"
	default:
		return "succeeded"
	}
}

func metadataOf(form url.Values) map[string]string {
	md := map[string]string{}
	for k, v := range form {
		if strings.HasPrefix(k, "metadata[") && len(v) > 0 {
			md[strings.TrimSuffix(strings.TrimPrefix(k, "metadata["), "]")] = v[0]
		}
	}
	return md
}

// intentObject is an intent as Stripe's webhooks carry it.
func (s *stripeRecorder) intentObject(id string, in *intent) map[string]any {
	obj := map[string]any{"object": "payment_intent", "currency": "usd"}
	_ = json.Unmarshal(s.patch(obj, id, in), &obj)
	return obj
}

// webhooks sets where Stripe's webhooks go and the secret that signs them.
func (s *stripeRecorder) webhooks(url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.hookSecret = url, secret
}

// webhook sends one signed event, as Stripe does (account: the connected
// account it is about, for Connect events), resending until it is taken.
func (s *stripeRecorder) webhook(typ, acct string, obj map[string]any) {
	s.mu.Lock()
	hook, secret := s.hookURL, s.hookSecret
	s.mu.Unlock()
	if hook == "" {
		return
	}
	ev := map[string]any{"id": fmt.Sprintf("evt_%d", time.Now().UnixNano()), "object": "event", "api_version": "2023-10-16",
		"created": time.Now().Unix(), "type": typ, "data": map[string]any{"object": obj}}
	if acct != "" {
		ev["account"] = acct
	}
	body, _ := json.Marshal(ev)
	go func() {
		// Stripe resends for days; locally, for three minutes (a fault
		// run's payments may be down that long), backing off to 5 s.
		deadline, delay := time.Now().Add(3*time.Minute), 250*time.Millisecond
		for time.Now().Before(deadline) {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(ts + "." + string(body)))
			req, _ := http.NewRequest(http.MethodPost, hook, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(mac.Sum(nil)))
			if resp, err := s.http.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					return
				}
			}
			time.Sleep(delay)
			delay = min(delay*2, 5*time.Second)
		}
	}()
}

// patch writes the intent's state over stripe-mock's answer (which always
// says requires_payment_method, and echoes no metadata).
func (s *stripeRecorder) patch(obj map[string]any, id string, in *intent) []byte {
	obj["id"], obj["status"], obj["amount"], obj["client_secret"] = id, in.status, in.amount, in.clientSecret
	obj["metadata"] = in.metadata
	obj["next_action"], obj["last_payment_error"] = nil, nil
	if in.destination != "" {
		obj["transfer_data"] = map[string]any{"destination": in.destination}
		obj["application_fee_amount"] = in.fee
	}
	if in.status == "requires_action" {
		obj["next_action"] = map[string]any{"type": "use_stripe_sdk", "use_stripe_sdk": map[string]any{}}
		if in.returnURL != "" {
			// Confirmed on the server with a return URL: the bank's page
			// (this recorder's, locally) sends the buyer back there.
			obj["next_action"] = map[string]any{"type": "redirect_to_url", "redirect_to_url": map[string]any{
				"url": s.url() + RecorderAuthenticatePath + id, "return_url": in.returnURL}}
		}
	}
	if in.status == "succeeded" {
		if in.charge == "" {
			in.charge = "ch_" + strings.TrimPrefix(id, "pi_")
		}
		obj["latest_charge"], obj["amount_received"] = in.charge, in.amount
	}
	b, _ := json.Marshal(obj)
	return b
}

// fill completes a replayed call's record from the answer it replays.
func (s *stripeRecorder) fill(call *StripeCall, body []byte) {
	var obj struct {
		ID       string            `json:"id"`
		Status   string            `json:"status"`
		Amount   int64             `json:"amount"`
		Metadata map[string]string `json:"metadata"`
	}
	if json.Unmarshal(body, &obj) == nil && strings.HasPrefix(obj.ID, "pi_") {
		call.IntentID, call.Outcome, call.Amount = obj.ID, obj.Status, obj.Amount
		if call.OrderID == "" {
			call.OrderID = obj.Metadata["orderId"]
		}
	}
}

func (s *stripeRecorder) forward(r *http.Request, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, s.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = r.Header.Clone()
	req.Header.Del("Idempotency-Key") // stripe-mock ignores it; this layer honours it
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func stripeError(typ, code, msg, intentID string) []byte {
	e := map[string]any{"type": typ, "code": code, "message": msg}
	if intentID != "" {
		e["payment_intent"] = map[string]any{"id": intentID, "object": "payment_intent", "status": "requires_payment_method"}
		e["decline_code"] = "generic_decline"
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return b
}

func write(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// StripeIntent is a PaymentIntent as Stripe's test mode holds it now.
type StripeIntent struct {
	ID      string
	OrderID string
	Amount  int64 // cents
	// Status is Stripe's: "succeeded" once its money was taken (a refund
	// is a call of its own), "canceled", "requires_action", ...
	Status string
	// Destination and Fee: a destination charge's connected account, and
	// the platform's application fee (cents); the account got Amount - Fee.
	Destination string
	Fee         int64
}

func (s *stripeRecorder) intentList() []StripeIntent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StripeIntent, 0, len(s.intents))
	for id, in := range s.intents {
		out = append(out, StripeIntent{ID: id, OrderID: in.metadata["orderId"], Amount: in.amount, Status: in.status, Destination: in.destination, Fee: in.fee})
	}
	return out
}

// StripeIntents returns every PaymentIntent the apps made, as it stands.
func (m *Mesh) StripeIntents() []StripeIntent {
	if m.stripe == nil {
		return nil
	}
	return m.stripe.intentList()
}

// StripeCalls returns every call the apps made to the Stripe API so far.
func (m *Mesh) StripeCalls() []StripeCall {
	if m.stripe == nil {
		return nil
	}
	m.stripe.mu.Lock()
	defer m.stripe.mu.Unlock()
	return append([]StripeCall(nil), m.stripe.calls...)
}

// StripeAuthenticate is the buyer completing 3-D Secure for an intent that
// asked for it: Stripe would then send payment_intent.succeeded.
func (m *Mesh) StripeAuthenticate(intentID string) error {
	resp, err := http.Post(m.stripe.url()+RecorderAuthenticatePath+intentID, "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("authenticate %s: %s", intentID, resp.Status)
	}
	return nil
}

// bankPage is the test bank's 3-D Secure page, as Stripe's test mode shows
// one: the buyer completes or fails the authentication.
var bankPage = template.Must(template.New("bank").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test bank: authenticate your payment</title></head>
<body><main>
<h1>Test bank</h1>
<p>Authenticate the payment of <strong id="amount">{{.Amount}}</strong> (TEST MODE: no card is charged).</p>
<form method="post"><input type="hidden" name="action" value="complete"><button type="submit" id="bank-complete">Complete authentication</button></form>
<form method="post"><input type="hidden" name="action" value="fail"><button type="submit" id="bank-fail">Fail authentication</button></form>
</main></body></html>`))

// authenticate is the buyer at their bank for an intent that requires
// action: GET shows the bank's page; POST completes the authentication (the
// intent succeeds, payment_intent.succeeded is sent) or, with action=fail,
// fails it (the intent needs another payment method again,
// payment_intent.payment_failed is sent). A POST from the bank's page
// sends the buyer back to the intent's return URL; a bare POST (tests)
// answers 204.
func (s *stripeRecorder) authenticate(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	in := s.intents[id]
	var amount int64
	if in != nil {
		amount = in.amount
	}
	s.mu.Unlock()
	if in == nil {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = bankPage.Execute(w, struct{ Amount string }{fmt.Sprintf("$%d.%02d", amount/100, amount%100)})
		return
	case http.MethodPost:
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	_ = r.ParseForm()
	fail := r.PostForm.Get("action") == "fail"
	s.mu.Lock()
	waiting := in.status == "requires_action"
	var obj map[string]any
	if waiting {
		in.status = "succeeded"
		if fail {
			in.status = "requires_payment_method"
		}
		obj = s.intentObject(id, in)
	}
	back := in.returnURL
	s.mu.Unlock()
	switch {
	case waiting && fail:
		obj["last_payment_error"] = map[string]any{"type": "card_error", "code": "payment_intent_authentication_failure",
			"message": "We are unable to authenticate your payment method. Please choose a different payment method and try again."}
		s.webhook("payment_intent.payment_failed", "", obj)
	case waiting:
		s.webhook("payment_intent.succeeded", "", obj)
	}
	if r.PostForm.Get("action") == "" || back == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	u, err := url.Parse(back)
	if err != nil {
		http.Error(w, "bad return URL", http.StatusBadRequest)
		return
	}
	q := u.Query()
	q.Set("payment_intent", id)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
