package mesh

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	At       time.Time
}

// Succeeded reports whether the call took money: a confirmation that
// succeeded, not a replay of one.
func (c StripeCall) Succeeded() bool { return c.Outcome == "succeeded" && !c.Replayed }

// RecorderCallsPath is where the recorder lists, as JSON, every call it has
// seen: the load generator's checker counts payments there. The recorder's
// address is in the mesh's data directory, in the file RecorderFile.
// RecorderAuthenticatePath + an intent id is the buyer completing 3-D
// Secure for it (POST).
const (
	RecorderCallsPath        = "/_recorder/calls"
	RecorderIntentsPath      = "/_recorder/intents"
	RecorderAuthenticatePath = "/_recorder/authenticate/"
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
type stripeRecorder struct {
	target string
	http   *http.Client
	srv    *http.Server
	addr   string

	mu      sync.Mutex
	calls   []StripeCall
	answers map[string]answer // by idempotency key
	intents map[string]*intent
	methods map[string]string // what each payment method was made from (a token)
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
}

func startStripeRecorder(target string) (*stripeRecorder, error) {
	rec := &stripeRecorder{
		target: target, http: &http.Client{Timeout: 30 * time.Second},
		answers: map[string]answer{}, intents: map[string]*intent{}, methods: map[string]string{},
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
	case strings.HasPrefix(r.URL.Path, RecorderAuthenticatePath) && r.Method == http.MethodPost:
		s.mu.Lock()
		in := s.intents[strings.TrimPrefix(r.URL.Path, RecorderAuthenticatePath)]
		if in != nil && in.status == "requires_action" {
			in.status = "succeeded"
		}
		s.mu.Unlock()
		if in == nil {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
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
	case isIntents && len(parts) == 2 && r.Method == http.MethodPost: // create
		id, _ := obj["id"].(string)
		amount, _ := strconv.ParseInt(form.Get("amount"), 10, 64)
		in := &intent{status: "requires_payment_method", amount: amount, method: form.Get("payment_method"), metadata: map[string]string{}, clientSecret: id + "_secret_test"}
		for k, v := range form {
			if strings.HasPrefix(k, "metadata[") && len(v) > 0 {
				in.metadata[strings.TrimSuffix(strings.TrimPrefix(k, "metadata["), "]")] = v[0]
			}
		}
		if in.method != "" {
			in.status = "requires_confirmation"
		}
		s.intents[id] = in
		if form.Get("confirm") == "true" {
			in.status = s.outcomeOf(in.method)
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
		call.IntentID, call.Outcome = id, "refunded"
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

// patch writes the intent's state over stripe-mock's answer (which always
// says requires_payment_method, and echoes no metadata).
func (s *stripeRecorder) patch(obj map[string]any, id string, in *intent) []byte {
	obj["id"], obj["status"], obj["amount"], obj["client_secret"] = id, in.status, in.amount, in.clientSecret
	obj["metadata"] = in.metadata
	obj["next_action"], obj["last_payment_error"] = nil, nil
	if in.status == "requires_action" {
		obj["next_action"] = map[string]any{"type": "use_stripe_sdk", "use_stripe_sdk": map[string]any{}}
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
}

func (s *stripeRecorder) intentList() []StripeIntent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StripeIntent, 0, len(s.intents))
	for id, in := range s.intents {
		out = append(out, StripeIntent{ID: id, OrderID: in.metadata["orderId"], Amount: in.amount, Status: in.status})
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
