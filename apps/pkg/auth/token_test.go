package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func mustKeys(t *testing.T, key string) *Keys {
	t.Helper()
	k, err := NewKeys([]byte(key), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestIssuedTokensVerify(t *testing.T) {
	k := mustKeys(t, strings.Repeat("a", 32))
	tok, err := k.Issue("u1", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	u, err := k.Verify(tok)
	if err != nil || u.ID != "u1" || u.Email != "ann@example.com" || u.IssuedAt == 0 {
		t.Fatalf("Verify = %+v, %v", u, err)
	}
}

func TestTokensThatMustNotVerify(t *testing.T) {
	k := mustKeys(t, strings.Repeat("a", 32))
	other := mustKeys(t, strings.Repeat("b", 32))
	forged, _ := other.Issue("u1", "ann@example.com")

	expired := mustKeys(t, strings.Repeat("a", 32))
	expired.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	old, _ := expired.Issue("u1", "ann@example.com")

	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"id": "u1", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"id": "u1", "exp": time.Now().Add(time.Hour).Unix()}).
		SignedString([]byte(strings.Repeat("a", 32)))
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"id": "u1"}).SignedString([]byte(strings.Repeat("a", 32)))

	cases := map[string]string{
		"signed with another key": forged,
		"expired":                 old,
		"alg none":                none,
		"another algorithm":       hs512,
		"no expiry":               noExp,
		"garbage":                 "not.a.token",
	}
	for name, tok := range cases {
		if _, err := k.Verify(tok); err == nil {
			t.Errorf("%s: verified, want rejected", name)
		}
	}
}

func TestShortKeysAreRefused(t *testing.T) {
	if _, err := NewKeys([]byte("short"), time.Hour); err == nil {
		t.Fatal("a 5-byte HMAC key was accepted")
	}
}
