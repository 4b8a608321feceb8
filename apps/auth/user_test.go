package main

import (
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/web"
)

func TestSignupValidation(t *testing.T) {
	cases := []struct {
		name       string
		in         signupRequest
		wantFields []string
	}{
		{"valid", signupRequest{Email: web.NewText("ann@example.com"), Password: web.NewText("pass")}, nil},
		{"password trimmed to 4", signupRequest{Email: web.NewText("ann@example.com"), Password: web.NewText("  abcd  ")}, nil},
		{"password too short once trimmed", signupRequest{Email: web.NewText("ann@example.com"), Password: web.NewText(" abc ")}, []string{"password"}},
		{"password of 21", signupRequest{Email: web.NewText("ann@example.com"), Password: web.NewText("123456789012345678901")}, []string{"password"}},
		{"no email", signupRequest{Password: web.NewText("password")}, []string{"email"}},
		{"display name is not an email", signupRequest{Email: web.NewText("Ann <ann@example.com>"), Password: web.NewText("password")}, []string{"email"}},
		{"domain without a dot", signupRequest{Email: web.NewText("ann@localhost"), Password: web.NewText("password")}, []string{"email"}},
		{"both wrong", signupRequest{Email: web.NewText("x"), Password: web.NewText("")}, []string{"email", "password"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.Validate()
			if len(got) != len(tc.wantFields) {
				t.Fatalf("problems %v, want fields %v", got, tc.wantFields)
			}
			for _, f := range tc.wantFields {
				if got[f] == "" {
					t.Errorf("no problem for %s in %v", f, got)
				}
			}
		})
	}
}

func TestSigninValidation(t *testing.T) {
	if got := (signinRequest{Email: web.NewText("ann@example.com"), Password: web.NewText("   ")}).Validate(); got["password"] != "You must supply a password" {
		t.Errorf("blank password: %v", got)
	}
	if got := (signinRequest{Email: web.NewText("ann@example.com"), Password: web.NewText("x")}).Validate(); len(got) != 0 {
		t.Errorf("any non-blank password is enough to try: %v", got)
	}
}

func TestPasswordsAreHashedAndTrimmed(t *testing.T) {
	u, err := newUser(" Ann@Example.com ", " secret ", 4, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "ann@example.com" {
		t.Errorf("email %q, want it normalized", u.Email)
	}
	if string(u.PasswordHash) == "secret" || len(u.PasswordHash) < 50 {
		t.Errorf("password stored as %q, want a bcrypt hash", u.PasswordHash)
	}
	if !u.checkPassword("secret") || !u.checkPassword(" secret") || u.checkPassword("Secret") {
		t.Error("checkPassword must accept the trimmed password and nothing else")
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(1, 2) // one per second, two at once
	l.now = func() time.Time { return now }
	for i, want := range []bool{true, true, false} {
		if ok, _ := l.allow("a"); ok != want {
			t.Fatalf("request %d allowed=%v, want %v", i, ok, want)
		}
	}
	if ok, _ := l.allow("b"); !ok {
		t.Error("another client shares the first one's budget")
	}
	_, wait := l.allow("a")
	if wait <= 0 || wait > time.Second {
		t.Errorf("retry after %v, want within a second", wait)
	}
	now = now.Add(time.Second)
	if ok, _ := l.allow("a"); !ok {
		t.Error("a token did not come back after a second")
	}
	if ok, _ := l.peek("b"); !ok {
		t.Error("peek refused a client with tokens")
	}
}
