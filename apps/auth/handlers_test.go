package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

type harness struct {
	h    http.Handler
	keys *auth.Keys
}

func newHarness(t *testing.T, cfg config) *harness {
	t.Helper()
	keys, err := auth.NewKeys([]byte(strings.Repeat("k", 32)), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = 4
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = time.Hour
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	limits := newLimits(1000, 1000, 600, 1000)
	if cfg.AccountBurst != 0 {
		limits = newLimits(1000, 1000, cfg.AccountRate, cfg.AccountBurst)
	}
	return &harness{h: newServer(log, cfg, keys, newUserStore(store.New(sidecartest.NewState(), &sidecartest.Publisher{}, slog.New(slog.DiscardHandler))), limits), keys: keys}
}

func (h *harness) post(t *testing.T, path, body string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec
}

func session(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == auth.CookieName {
			return c
		}
	}
	return nil
}

func TestSignupSignsIn(t *testing.T) {
	h := newHarness(t, config{})
	rec := h.post(t, "/api/users/signup", `{"email":"ann@example.com","password":"secret"}`)
	if rec.Code != 201 {
		t.Fatalf("status %d, want 201: %s", rec.Code, rec.Body)
	}
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if body["email"] != "ann@example.com" || body["id"] == "" || len(body) != 2 {
		t.Errorf("body %v, want exactly id and email", body)
	}
	c := session(rec)
	if c == nil || !c.HttpOnly || c.Secure {
		t.Fatalf("cookie %+v, want an HttpOnly session cookie, not Secure over plain HTTP", c)
	}
	u, err := h.keys.Verify(c.Value)
	if err != nil || u.Email != "ann@example.com" || u.ID != body["id"] {
		t.Errorf("token verifies to %+v (%v), want the new user", u, err)
	}
}

func TestSessionCookieIsSecureBehindTLS(t *testing.T) {
	h := newHarness(t, config{})
	req := httptest.NewRequest("POST", "/api/users/signup", strings.NewReader(`{"email":"ann@example.com","password":"secret"}`))
	req.Header.Set("X-Forwarded-Proto", "https")
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	if c := session(rec); c == nil || !c.Secure {
		t.Fatalf("cookie %+v, want Secure", c)
	}
}

func TestSigninAndCurrentUser(t *testing.T) {
	h := newHarness(t, config{})
	h.post(t, "/api/users/signup", `{"email":"ann@example.com","password":"secret"}`)
	cases := []struct {
		name   string
		body   string
		status int
	}{
		{"right password, other case of email", `{"email":"ANN@example.com","password":"secret"}`, 200},
		{"wrong password", `{"email":"ann@example.com","password":"nope"}`, 400},
		{"unknown email", `{"email":"bob@example.com","password":"secret"}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.post(t, "/api/users/signin", tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 400 && !strings.Contains(rec.Body.String(), "Invalid credentials") {
				t.Errorf("body %s, want the same message for a wrong password and an unknown email", rec.Body)
			}
			if tc.status == 200 {
				req := httptest.NewRequest("GET", "/api/users/currentuser", nil)
				req.AddCookie(session(rec))
				cur := httptest.NewRecorder()
				h.h.ServeHTTP(cur, req)
				if !strings.Contains(cur.Body.String(), `"email":"ann@example.com"`) {
					t.Errorf("currentuser %s, want ann", cur.Body)
				}
			}
		})
	}
}

func TestCurrentUserWithoutOrWithABadSession(t *testing.T) {
	h := newHarness(t, config{})
	for _, cookie := range []*http.Cookie{nil, {Name: "session", Value: "garbage"}} {
		req := httptest.NewRequest("GET", "/api/users/currentuser", nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.h.ServeHTTP(rec, req)
		if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"currentUser":null}` {
			t.Errorf("cookie %v: %d %s, want 200 {\"currentUser\":null}", cookie, rec.Code, rec.Body)
		}
	}
}

func TestRepeatedFailedSigninsAreLimitedPerAccount(t *testing.T) {
	h := newHarness(t, config{AccountRate: 1, AccountBurst: 3})
	h.post(t, "/api/users/signup", `{"email":"ann@example.com","password":"secret"}`)
	for range 3 {
		h.post(t, "/api/users/signin", `{"email":"ann@example.com","password":"guess"}`)
	}
	rec := h.post(t, "/api/users/signin", `{"email":"ann@example.com","password":"secret"}`)
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("after 3 failures: %d (Retry-After %q), want 429 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := h.post(t, "/api/users/signin", `{"email":"bob@example.com","password":"x"}`); rec.Code != 400 {
		t.Errorf("another account was limited too: %d", rec.Code)
	}
}
