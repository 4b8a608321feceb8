// Package auth is how every service knows who is calling, without calling the
// auth service: a JWT (HS256, pinned) in an HttpOnly cookie, verified locally
// with the signing key each service reads from its own secret store.
package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// CookieName is the session cookie's name, as in the original system.
const CookieName = "session"

// User is the signed-in user as the token carries it.
type User struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	IssuedAt int64  `json:"iat"`
}

type claims struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	jwt.RegisteredClaims
}

// ErrInvalidToken covers every token that does not verify: bad signature,
// wrong algorithm, expired, malformed.
var ErrInvalidToken = errors.New("invalid session token")

// Keys signs and verifies session tokens.
type Keys struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewKeys returns Keys for an HMAC key of at least 32 bytes; tokens live for ttl.
func NewKeys(key []byte, ttl time.Duration) (*Keys, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("jwt signing key is %d bytes, want at least 32", len(key))
	}
	return &Keys{key: key, ttl: ttl, now: time.Now}, nil
}

// Issue returns a signed token for the user.
func (k *Keys) Issue(id, email string) (string, error) {
	now := k.now()
	c := claims{
		ID:    id,
		Email: email,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   id,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(k.ttl)),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(k.key)
}

// Verify checks a token's signature (HS256 only) and expiry, and returns its user.
func (k *Keys) Verify(token string) (User, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return k.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(k.now),
	)
	if err != nil || c.ID == "" {
		return User{}, ErrInvalidToken
	}
	var iat int64
	if c.IssuedAt != nil {
		iat = c.IssuedAt.Unix()
	}
	return User{ID: c.ID, Email: c.Email, IssuedAt: iat}, nil
}
