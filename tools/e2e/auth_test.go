package e2e

import (
	"net/http"
	"sync"
	"testing"
)

func TestAuthSignupSigninCurrentUserSignout(t *testing.T) {
	u := newUser(t)
	email := uniqueEmail("flow")

	var created struct{ ID, Email, Password string }
	r := u.do("POST", "/api/users/signup", map[string]string{"email": email, "password": "  secret  "}).want(t, 201)
	r.json(t, &created)
	if created.Email != email || created.ID == "" || created.Password != "" {
		t.Fatalf("signup answered %s, want the user's id and email and no password", r.body)
	}
	if c := sessionCookie(r.header); c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("signup cookie %v, want an HttpOnly SameSite=Lax session cookie", c)
	}

	var cur struct {
		CurrentUser *struct {
			ID    string `json:"id"`
			Email string `json:"email"`
			Iat   int64  `json:"iat"`
		} `json:"currentUser"`
	}
	u.do("GET", "/api/users/currentuser", nil).want(t, 200).json(t, &cur)
	if cur.CurrentUser == nil || cur.CurrentUser.ID != created.ID || cur.CurrentUser.Iat == 0 {
		t.Fatalf("currentuser = %+v, want the signed-up user with iat", cur.CurrentUser)
	}

	u.do("POST", "/api/users/signout", nil).want(t, 200)
	u.do("GET", "/api/users/currentuser", nil).want(t, 200).json(t, &cur)
	if cur.CurrentUser != nil {
		t.Fatalf("after signout currentuser = %+v, want null", cur.CurrentUser)
	}

	// The password was trimmed at sign-up, as the original does; the email's case does not matter.
	u.do("POST", "/api/users/signin", map[string]string{"email": email, "password": "secret"}).want(t, 200)
	u.do("GET", "/api/users/currentuser", nil).want(t, 200).json(t, &cur)
	if cur.CurrentUser == nil || cur.CurrentUser.ID != created.ID {
		t.Fatalf("after signin currentuser = %+v, want %s", cur.CurrentUser, created.ID)
	}
}

func TestAuthRejectsBadInput(t *testing.T) {
	existing := signedUp(t)
	u := newUser(t)
	cases := []struct {
		name   string
		path   string
		body   any
		status int
		want   map[string]string
	}{
		{"invalid email and short password", "/api/users/signup", map[string]string{"email": "nope", "password": "a"}, 400,
			map[string]string{"email": "Email must be valid", "password": "Password must be between 4 and 20 characters"}},
		{"password too long", "/api/users/signup", map[string]string{"email": uniqueEmail("long"), "password": "123456789012345678901"}, 400,
			map[string]string{"password": "Password must be between 4 and 20 characters"}},
		{"email in use", "/api/users/signup", map[string]string{"email": existing.email, "password": "password"}, 400,
			map[string]string{"": "Email in use"}},
		{"signin without password", "/api/users/signin", map[string]string{"email": existing.email}, 400,
			map[string]string{"password": "You must supply a password"}},
		{"signin with a wrong password", "/api/users/signin", map[string]string{"email": existing.email, "password": "wrong"}, 400,
			map[string]string{"": "Invalid credentials"}},
		{"signin with an unknown email", "/api/users/signin", map[string]string{"email": uniqueEmail("ghost"), "password": "password"}, 400,
			map[string]string{"": "Invalid credentials"}},
		{"body that is not JSON", "/api/users/signup", "not an object", 400,
			map[string]string{"": "Request body must be a JSON object"}},
		{"unknown route", "/api/users/nothing", nil, 404, map[string]string{"": "Not Found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if tc.body == nil {
				method = "GET"
			}
			got := u.do(method, tc.path, tc.body).want(t, tc.status).errorMessages(t)
			if len(got) != len(tc.want) {
				t.Fatalf("errors %v, want %v", got, tc.want)
			}
			for field, msg := range tc.want {
				if got[field] != msg {
					t.Errorf("field %q: message %q, want %q", field, got[field], msg)
				}
			}
		})
	}
}

func TestAuthConcurrentDuplicateSignupsHaveOneWinner(t *testing.T) {
	email := uniqueEmail("race")
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = newUser(t).do("POST", "/api/users/signup", map[string]string{"email": email, "password": "password"}).status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[201] != 1 || count[400] != n-1 {
		t.Fatalf("statuses %v, want exactly one 201 and %d 400s", count, n-1)
	}
}

func sessionCookie(h http.Header) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	return nil
}
