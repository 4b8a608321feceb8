package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"sync/atomic"
	"testing"
	"time"
)

// user is a browser-like client of the public origin with its own cookies.
type user struct {
	t     testing.TB
	http  *http.Client
	email string
	id    string
}

func newUser(t testing.TB) *user {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &user{t: t, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// response is a decoded reply.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorMessages returns the messages of an error body, by field ("" when none).
func (r response) errorMessages(t testing.TB) map[string]string {
	t.Helper()
	var body struct {
		Errors []struct {
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"errors"`
	}
	r.json(t, &body)
	out := map[string]string{}
	for _, e := range body.Errors {
		out[e.Field] = e.Message
	}
	return out
}

func (u *user) do(method, path string, body any) response {
	u.t.Helper()
	return u.doWith(method, path, body, nil)
}

// doWith sends a request with extra headers.
func (u *user) doWith(method, path string, body any, header http.Header) response {
	u.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			u.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, baseURL+path, rd)
	if err != nil {
		u.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := u.http.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// want fails unless the response has the status.
func (r response) want(t testing.TB, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

var seq atomic.Int64

// uniqueEmail returns an email no other test uses.
func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%d-%d@example.com", prefix, time.Now().UnixNano(), seq.Add(1))
}

// signedUp returns a new user, signed up and signed in.
func signedUp(t testing.TB) *user {
	t.Helper()
	u := newUser(t)
	u.email = uniqueEmail("user")
	var me struct {
		ID string `json:"id"`
	}
	u.do("POST", "/api/users/signup", map[string]string{"email": u.email, "password": "password"}).want(t, 201).json(t, &me)
	u.id = me.ID
	return u
}
