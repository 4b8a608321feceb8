package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify feeds arbitrary session cookies to Verify, which every service's
// CurrentUser middleware runs on every request. It never panics, and nothing
// verifies but what was signed with the key: the only signed claims around
// are those of the seed token, so any token that verifies carries them.
func FuzzVerify(f *testing.F) {
	key := []byte(strings.Repeat("a", 32))
	k, err := NewKeys(key, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := k.Issue("u1", "ann@example.com")
	if err != nil {
		f.Fatal(err)
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"id": "u2", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid,
		valid[:len(valid)-5],
		parts[0] + "." + parts[1],
		parts[0] + ".e30." + parts[2], // the claims replaced by {}
		none,
		"eyJhbGciOiJIUzI1NiJ9.eyJpZCI6MX0.c2ln", // {"alg":"HS256"} {"id":1}
		"not.a.token",
		"....",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		u, err := k.Verify(token)
		if err != nil {
			if u != (User{}) {
				t.Fatalf("token %q: rejected (%v) but returned %+v", token, err, u)
			}
			return
		}
		if u.ID != "u1" || u.Email != "ann@example.com" {
			t.Fatalf("token %q verified as %+v, which nobody signed", token, u)
		}
	})
}
