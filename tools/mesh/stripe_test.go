package mesh

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeStripeMock answers like stripe-mock: a fresh id per creation, and an
// intent that always says requires_payment_method.
func fakeStripeMock(t *testing.T) string {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		obj := map[string]any{"object": "x"}
		switch {
		case parts[1] == "payment_methods":
			obj["id"] = fmt.Sprintf("pm_%d", n.Add(1))
		case parts[1] == "payment_intents" && len(parts) == 2:
			obj["id"] = fmt.Sprintf("pi_%d", n.Add(1))
			obj["status"] = "requires_payment_method"
		case parts[1] == "payment_intents":
			obj["id"] = parts[2]
			obj["status"] = "requires_payment_method"
		default:
			obj["id"] = fmt.Sprintf("re_%d", n.Add(1))
		}
		_ = json.NewEncoder(w).Encode(obj)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func stripePost(t *testing.T, base, path, key string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var obj map[string]any
	_ = json.Unmarshal(b, &obj)
	return resp.StatusCode, obj
}

func TestTheTestModeStripeDecidesByTestPaymentMethods(t *testing.T) {
	rec, err := startStripeRecorder(fakeStripeMock(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.srv.Close() })
	base := rec.url()
	intent := func(method, key string) string {
		_, obj := stripePost(t, base, "/v1/payment_intents", key, url.Values{"amount": {"2000"}, "currency": {"usd"}, "payment_method": {method}, "metadata[orderId]": {"o-" + key}})
		if obj["status"] != "requires_confirmation" || obj["metadata"].(map[string]any)["orderId"] != "o-"+key {
			t.Fatalf("created %v, want requires_confirmation with its metadata", obj)
		}
		return obj["id"].(string)
	}
	confirm := func(id string) (int, map[string]any) {
		return stripePost(t, base, "/v1/payment_intents/"+id+"/confirm", "c-"+id, nil)
	}

	t.Run("a card that pays", func(t *testing.T) {
		id := intent("pm_card_visa", "k1")
		if status, obj := confirm(id); status != 200 || obj["status"] != "succeeded" {
			t.Errorf("confirm: %d %v", status, obj)
		}
		if status, obj := stripePost(t, base, "/v1/payment_intents/"+id+"/cancel", "", nil); status != 400 || !strings.Contains(fmt.Sprint(obj), "payment_intent_unexpected_state") {
			t.Errorf("cancelling a succeeded intent: %d %v, want 400", status, obj)
		}
	})
	t.Run("a token that is declined, through the payment method made from it", func(t *testing.T) {
		_, pm := stripePost(t, base, "/v1/payment_methods", "m1", url.Values{"type": {"card"}, "card[token]": {"tok_chargeDeclined"}})
		id := intent(pm["id"].(string), "k2")
		if status, obj := confirm(id); status != 402 || !strings.Contains(fmt.Sprint(obj), "card_declined") {
			t.Errorf("confirm: %d %v, want a 402 card error", status, obj)
		}
	})
	t.Run("a card that asks the buyer to authenticate", func(t *testing.T) {
		id := intent("pm_card_threeDSecure2Required", "k3")
		if _, obj := confirm(id); obj["status"] != "requires_action" || obj["client_secret"] == "" {
			t.Fatalf("confirm: %v, want requires_action with a client secret", obj)
		}
		resp, err := http.Post(base+RecorderAuthenticatePath+id, "", nil)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("authenticate: %v %v", resp, err)
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/payment_intents/"+id, nil)
		r, _ := http.DefaultClient.Do(req)
		var obj map[string]any
		_ = json.NewDecoder(r.Body).Decode(&obj)
		r.Body.Close()
		if obj["status"] != "succeeded" {
			t.Errorf("after authenticating: %v", obj)
		}
	})
	t.Run("confirmed with a return URL, the bank's page sends the buyer back", func(t *testing.T) {
		for _, action := range []string{"complete", "fail"} {
			id := intent("pm_card_threeDSecure2Required", "k5-"+action)
			_, obj := stripePost(t, base, "/v1/payment_intents/"+id+"/confirm", "c5-"+action, url.Values{"return_url": {"https://tix.example/orders/o1"}})
			next, _ := obj["next_action"].(map[string]any)
			redirect, _ := next["redirect_to_url"].(map[string]any)
			page, _ := redirect["url"].(string)
			if next["type"] != "redirect_to_url" || page != base+RecorderAuthenticatePath+id {
				t.Fatalf("confirm: next_action %v, want the bank's page", next)
			}
			if resp, err := http.Get(page); err != nil || resp.StatusCode != 200 {
				t.Fatalf("the bank's page: %v %v", resp, err)
			}
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := noFollow.PostForm(page, url.Values{"action": {action}})
			if err != nil || resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://tix.example/orders/o1?payment_intent="+id {
				t.Fatalf("%s: %v %v, want 303 back to the order", action, resp, err)
			}
			want := map[string]string{"complete": "succeeded", "fail": "requires_payment_method"}[action]
			rec.mu.Lock()
			got := rec.intents[id].status
			rec.mu.Unlock()
			if got != want {
				t.Errorf("%s: intent %s, want %s", action, got, want)
			}
		}
	})
	t.Run("a request repeated under its idempotency key is answered as the first", func(t *testing.T) {
		a := intent("pm_card_visa", "k4")
		b := intent("pm_card_visa", "k4")
		if a != b {
			t.Errorf("two intents %s and %s for one key", a, b)
		}
		confirm(a)
		confirm(a)
		paid := 0
		for _, c := range func() []StripeCall {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			return append([]StripeCall(nil), rec.calls...)
		}() {
			if c.IntentID == a && c.Succeeded() {
				paid++
			}
		}
		if paid != 1 {
			t.Errorf("%d calls took money for %s, want 1", paid, a)
		}
	})
}
