package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/delivery"
	"github.com/tixmesh/ticketing/apps/pkg/events"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// The fuzz targets drive the real server (newServer) over a fresh in-memory
// store per input and a charger that never calls Stripe. The store holds
// order copies of fuzzBuyer's: "o1" payable, "o2" cancelled, "o4" paid; and
// "o3", someone else's. Requests are signed in, and webhooks correctly
// signed, so that the body is decoded. Bad input must get a 4xx with the
// error body, never a 5xx (a panic is recovered as a 500, so it counts as
// one); a delivery is always answered 200 with SUCCESS, RETRY or DROP, and one
// that cannot decode is a DROP.

const (
	fuzzBuyer         = "u2"
	fuzzWebhookSecret = "whsec_fuzz_secret"
)

var (
	fuzzOrders = []Order{
		{ID: "o1", UserID: fuzzBuyer, Price: 20.5, Status: events.OrderStatusCreated},
		{ID: "o2", UserID: fuzzBuyer, Price: 20.5, Status: events.OrderStatusCancelled, Version: 1},
		{ID: "o3", UserID: "u3", Price: 20.5, Status: events.OrderStatusCreated},
		{ID: "o4", UserID: fuzzBuyer, Price: 20.5, Status: events.OrderStatusCreated},
	}
	fuzzPaid = Payment{ID: "p4", OrderID: "o4", UserID: fuzzBuyer, Amount: 2050, Status: PaymentSucceeded,
		StripeID: "ch_4", AttemptAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
)

// fuzzCharger charges every token but those starting "tok_decline", which it
// declines; it never calls Stripe.
type fuzzCharger struct{}

func (fuzzCharger) charge(_ context.Context, c Charge) (string, error) {
	if strings.HasPrefix(c.Token, "tok_decline") {
		return "", notCharged(ErrCardDeclined)
	}
	return "ch_" + c.PaymentID, nil
}

func (fuzzCharger) refund(context.Context, Refund) error { return nil }

type fuzzApp struct {
	h    http.Handler
	keys *auth.Keys
}

func newFuzzApp(t *testing.T) fuzzApp {
	t.Helper()
	keys, err := auth.NewKeys([]byte("a-test-signing-key-of-32-bytes!!"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	state := sidecartest.NewState()
	ops := []sidecar.Op{{Key: paymentKey(fuzzPaid.OrderID), Value: fuzzPaid}}
	for _, o := range fuzzOrders {
		ops = append(ops, sidecar.Op{Key: orderKey(o.ID), Value: o})
	}
	if err := state.Transact(context.Background(), ops...); err != nil {
		t.Fatal(err)
	}
	payments := newPaymentStore(store.New(state, &sidecartest.Publisher{}, log), 0)
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return fuzzApp{h: newServer(log, cfg, keys, payments, fuzzCharger{}, fuzzWebhookSecret), keys: keys}
}

// checkAnswer checks that w has one of the statuses wanted (never a 5xx), and
// the error body with at least one message unless it is a 2xx.
func checkAnswer(t *testing.T, what string, w *httptest.ResponseRecorder, want ...int) {
	t.Helper()
	if !slices.Contains(want, w.Code) {
		t.Fatalf("%s: status %d, want one of %v: %s", what, w.Code, want, w.Body)
	}
	if w.Code/100 == 2 {
		return
	}
	var e web.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || len(e.Errors) == 0 || e.Errors[0].Message == "" {
		t.Fatalf("%s: %d with body %q, want the error shape", what, w.Code, w.Body)
	}
}

// fuzzDeliver hands body to topic's route as the sidecar would and checks the
// answer: 200 with SUCCESS, RETRY or DROP; DROP when the envelope or its
// payload (a T) does not decode; never RETRY unless mayRetry.
func fuzzDeliver[T any](t *testing.T, h http.Handler, topic events.Topic, body []byte, mayRetry bool) {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, topic.Route(), bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/cloudevents+json")
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("delivery %q: status %d, want 200: %s", body, w.Code, w.Body)
	}
	var resp struct{ Status string }
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("delivery %q: answer %q: %v", body, w.Body, err)
	}
	switch resp.Status {
	case "SUCCESS", "DROP":
	case "RETRY":
		if !mayRetry {
			t.Fatalf("delivery %q answered RETRY, which nothing here can make succeed later", body)
		}
	default:
		t.Fatalf("delivery %q: answer %q, want SUCCESS, RETRY or DROP", body, w.Body)
	}
	var e delivery.Event
	decodes := json.Unmarshal(body, &e) == nil && json.Unmarshal(e.Data, new(T)) == nil
	if !decodes && resp.Status != "DROP" {
		t.Fatalf("undecodable delivery %q answered %s, want DROP", body, resp.Status)
	}
}

// envelope is a CloudEvent as the sidecar delivers it, around raw data.
func envelope(topic events.Topic, id, data string) []byte {
	return []byte(`{"id":"` + id + `","source":"orders","type":"com.dapr.event.sent","specversion":"1.0",` +
		`"datacontenttype":"application/json","topic":"` + string(topic) + `","pubsubname":"pubsub","data":` + data + `}`)
}

func addDeliverySeeds(f *testing.F, topic events.Topic, payloads []string) {
	for _, p := range payloads {
		f.Add(envelope(topic, string(topic)+"/x/0", p))
	}
	f.Add([]byte(`{"id":"e1","topic":"` + string(topic) + `"}`)) // no data
	f.Add([]byte(`{"id":["e1"],"data":{}}`))
	f.Add([]byte(`not json`))
}

// FuzzCreatePayment posts arbitrary bodies to POST /api/payments as the
// buyer: 201 for o1; 400 for an invalid body, a declined card, or o2 and o4
// (cancelled, paid); 401 for o3 (someone else's); 404 for an unknown order.
func FuzzCreatePayment(f *testing.F) {
	for _, s := range []string{
		`{"token":"tok_visa","orderId":"o1"}`,
		`{"token":"tok_decline_card","orderId":"o1"}`,
		`{"token":"tok_visa","orderId":"o2"}`,
		`{"token":"tok_visa","orderId":"o3"}`,
		`{"token":"tok_visa","orderId":"o4"}`,
		`{"token":"tok_visa","orderId":"nope"}`,
		`{"token":"tok_visa","orderId":"o1"`,
		`{"token":4242,"orderId":1}`,
		`{"token":"tok_visa","orderId":["o1"]}`,
		`{"token":"tok_\u00e9\ud83c\udf9f","orderId":" o1 "}`,
		`{"token":"  ","orderId":""}`,
		`{"token":"tok_visa","orderId":"o1","amount":1}`,
		`[]`,
		`null`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a := newFuzzApp(t)
		w := sidecartest.Request(t, a.h, a.keys, http.MethodPost, "/api/payments", string(body), fuzzBuyer)
		checkAnswer(t, "POST /api/payments "+string(body), w,
			http.StatusCreated, http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound)
	})
}

// stripeEventSeed is a webhook body as Stripe sends it.
func stripeEventSeed(typ, object string) string {
	return `{"id":"evt_1","object":"event","api_version":"2020-08-27","created":1764072000,"type":"` + typ +
		`","data":{"object":` + object + `}}`
}

// FuzzStripeWebhook posts arbitrary bodies to POST /api/payments/webhook.
// When sign is set the body is signed with the webhook secret, just now, so
// that it is decoded; otherwise header is sent as the Stripe-Signature as is,
// and the answer must be a 400, whatever the body. Stripe is answered 200 for
// every signed event it need not resend and 400 for anything else; never a
// 5xx, which it would resend for days.
func FuzzStripeWebhook(f *testing.F) {
	charge := `{"id":"ch_9","object":"charge","amount":2050,"currency":"usd","paid":true,"status":"succeeded","metadata":{"orderId":"o1","paymentId":"p9"}}`
	intent := `{"id":"pi_9","object":"payment_intent","amount":2050,"amount_received":2050,"latest_charge":"ch_9","metadata":{"orderId":"o1"}}`
	for _, s := range []string{
		stripeEventSeed("charge.succeeded", charge),
		stripeEventSeed("payment_intent.succeeded", intent),
		stripeEventSeed("payment_intent.succeeded", `{"id":"pi_9","latest_charge":{"id":"ch_9","customer":{"id":"cus_1"}},"metadata":{"orderId":"o4"}}`),
		stripeEventSeed("charge.succeeded", `{"id":"ch_9","metadata":{"orderId":"nope"}}`),
		stripeEventSeed("charge.succeeded", `{"id":"ch_9","amount":"2050","metadata":["o1"]}`),
		stripeEventSeed("charge.succeeded", `"ch_9"`),
		stripeEventSeed("charge.succeeded", `{"id":"ch_9","amount":1e400}`),
		stripeEventSeed("charge.refunded", charge),
		stripeEventSeed("charge.succeeded", `{"id":"ch_\u00e9\ud83c\udf9f","metadata":{"orderId":"o1","paymentId":"\ud800"}}`),
		stripeEventSeed("charge.succeeded", charge)[:90],
		`{"id":"evt_1","object":"event","type":"charge.succeeded"}`,
		`{"id":"evt_1","object":"event","type":"charge.succeeded","data":null}`,
		`{"object":"list","data":[]}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s), true, "")
	}
	f.Add([]byte(stripeEventSeed("charge.succeeded", charge)), false, "")
	f.Add([]byte(stripeEventSeed("charge.succeeded", charge)), false, "t=1764072000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")
	f.Add([]byte(stripeEventSeed("charge.succeeded", charge)), false, "t=,v1=,v0=")
	f.Fuzz(func(t *testing.T, payload []byte, sign bool, header string) {
		if sign {
			header = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
				Payload: payload, Secret: fuzzWebhookSecret, Timestamp: time.Now(),
			}).Header
		}
		r := httptest.NewRequest(http.MethodPost, "/api/payments/webhook", bytes.NewReader(payload))
		r.Header.Set("Content-Type", "application/json")
		if header != "" {
			r.Header.Set("Stripe-Signature", header)
		}
		w := httptest.NewRecorder()
		newFuzzApp(t).h.ServeHTTP(w, r)
		what := "webhook " + string(payload)
		if !sign {
			checkAnswer(t, what+" (unsigned)", w, http.StatusBadRequest)
			return
		}
		checkAnswer(t, what, w, http.StatusOK, http.StatusBadRequest)
	})
}

// orderEventSeeds are valid and near-valid payloads of order:created and
// order:cancelled.
var orderEventSeeds = []string{
	`{"id":"o9","version":0,"status":"created","userId":"u2","expiresAt":"2026-11-25T12:15:00Z","ticket":{"id":"t1","price":20.5}}`,
	`{"id":"o1","version":1,"ticket":{"id":"t1"}}`,
	`{"id":"o1","version":2,"ticket":{"id":"t1"}}`,
	`{"id":"o9","version":0,"status":"created","userId":"u2","expiresAt":"2026-11-25T12:15:00Z","ticket":{"id":"t1"`,
	`{"id":42,"version":"1","userId":7,"ticket":"t1"}`,
	`{"id":"o9","version":0,"userId":"u2","ticket":{"id":"t1","price":1e308}}`,
	`{"id":"o9","version":0,"userId":"u2","ticket":{"id":"t1","price":1e400}}`,
	`{"id":"o1","version":-9223372036854775808,"ticket":{"id":"t1"}}`,
	`{"id":"o1","version":9223372036854775807,"ticket":{"id":"t1"}}`,
	`{"id":"o\u00e9\ud83c\udf9f","userId":"\ud800","ticket":{"id":"t1"}}`,
	`{"id":"","userId":"u2"}`,
	`"o1"`,
	`null`,
}

// FuzzOrderCreatedEvent delivers arbitrary bodies to order:created's route.
// Copying an order has nothing to wait for, so nothing can ask for a RETRY.
func FuzzOrderCreatedEvent(f *testing.F) {
	addDeliverySeeds(f, events.OrderCreated, orderEventSeeds)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDeliver[events.OrderCreatedEvent](t, newFuzzApp(t).h, events.OrderCreated, body, false)
	})
}

// FuzzOrderCancelledEvent delivers arbitrary bodies to order:cancelled's
// route. A cancellation of an order not copied yet, or versions ahead, waits
// for the events before it: a RETRY by design.
func FuzzOrderCancelledEvent(f *testing.F) {
	addDeliverySeeds(f, events.OrderCancelled, orderEventSeeds)
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDeliver[events.OrderCancelledEvent](t, newFuzzApp(t).h, events.OrderCancelled, body, true)
	})
}
