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
	"sync"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// The fuzz targets drive the real server (newServer) over a fresh in-memory
// store per input, with limits high enough never to answer 429, so that every
// body reaches the decoder and whatever follows it. Bad input must get a 4xx
// with the error body, never a 5xx (a panic is recovered as a 500, so it
// counts as one).

// fuzzExisting is the account that signin fuzzing signs in to.
var fuzzExisting = credentials{Email: web.NewText("ann@example.com"), Password: web.NewText("secret")}

// fuzzExistingUser hashes its password once, not once per input.
var fuzzExistingUser = sync.OnceValues(func() (User, error) {
	return newUser(fuzzExisting.Email.String(), fuzzExisting.Password.String(), 4, time.Now())
})

func newFuzzServer(t *testing.T) http.Handler {
	t.Helper()
	keys, err := auth.NewKeys([]byte(strings.Repeat("k", 32)), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{BcryptCost: 4, SessionTTL: time.Hour}
	users := newUserStore(store.New(sidecartest.NewState(), &sidecartest.Publisher{}, slog.New(slog.DiscardHandler)))
	u, err := fuzzExistingUser()
	if err != nil {
		t.Fatal(err)
	}
	if err := users.create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	limits := newLimits(1e9, 1<<30, 1e9, 1<<30)
	return newServer(slog.New(slog.DiscardHandler), cfg, keys, users, limits)
}

// fuzzPost posts body to path and checks the answer: one of the statuses
// wanted (never a 5xx), a session cookie with a 2xx, and the error body with
// at least one message otherwise.
func fuzzPost(t *testing.T, path string, body []byte, want ...int) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	newFuzzServer(t).ServeHTTP(w, r)
	if !slices.Contains(want, w.Code) {
		t.Fatalf("POST %s %q: status %d, want one of %v: %s", path, body, w.Code, want, w.Body)
	}
	if w.Code/100 == 2 {
		if !strings.Contains(w.Header().Get("Set-Cookie"), auth.CookieName+"=") {
			t.Fatalf("POST %s %q: %d without a session cookie", path, body, w.Code)
		}
		return
	}
	var e web.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || len(e.Errors) == 0 || e.Errors[0].Message == "" {
		t.Fatalf("POST %s %q: %d with body %q, want the error shape", path, body, w.Code, w.Body)
	}
}

// authSeeds are valid and near-valid sign-up and sign-in bodies.
var authSeeds = []string{
	`{"email":"ann@example.com","password":"secret"}`,
	`{"email":"bob@example.com","password":"hunter22"}`,
	`{"email":"ann@example.com","password":"secr`,
	`{"email":42,"password":["secret"]}`,
	`{"email":"ann@example.com","password":"secret","admin":true}`,
	`{"email":"Ann <ann@example.com>","password":"secret"}`,
	`{"email":"ann@example","password":"  "}`,
	`{"email":"ann@example.com","password":"p\u00e4ss\u00f6rd"}`,
	`{"email":"\u00e4nn@b\u00fccher.example","password":""}`,
	`{"email":"bob@example.com","password":"🎟🎟🎟🎟🎟🎟🎟🎟🎟🎟🎟🎟🎟🎟🎟🎟🎟🎟🎟"}`, // 19 characters but 76 bytes, more than bcrypt takes: was a 500
	`{"email":"ann@example.com","password":"secret\u0000"}`,
	`{"email":"` + strings.Repeat("a", 250) + `@example.com","password":"secret"}`,
	`{"email":"ann@example.com","password":1e400}`,
	`[]`,
	`null`,
	``,
}

// FuzzSignup posts arbitrary bodies to POST /api/users/signup.
func FuzzSignup(f *testing.F) {
	for _, s := range authSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, "/api/users/signup", body, http.StatusCreated, http.StatusBadRequest)
	})
}

// FuzzSignin posts arbitrary bodies to POST /api/users/signin, where
// ann@example.com has an account.
func FuzzSignin(f *testing.F) {
	// The seeds name the existing account: an unknown one costs a bcrypt
	// comparison with the decoy at the default cost, seconds under -race.
	for _, s := range authSeeds {
		f.Add([]byte(strings.ReplaceAll(s, "bob@example.com", fuzzExisting.Email.String())))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, "/api/users/signin", body, http.StatusOK, http.StatusBadRequest)
	})
}
