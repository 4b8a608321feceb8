package main

import (
	"crypto/rand"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// User is an account. The password is kept only as a bcrypt hash (slow and
// salted); it never leaves this service.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	PasswordHash []byte    `json:"passwordHash"`
	CreatedAt    time.Time `json:"createdAt"`
	Version      int64     `json:"version"`
}

var (
	ErrEmailInUse         = apperr.New(apperr.Rule, "Email in use")
	ErrInvalidCredentials = apperr.New(apperr.Rule, "Invalid credentials")
	ErrTooManyAttempts    = apperr.New(apperr.TooMany, "Too many attempts; try again later")
)

// credentials is the body of sign-up and sign-in.
type credentials struct {
	Email    web.Text `json:"email"`
	Password web.Text `json:"password"`
}

// signupRequest validates as the original did: a valid email, and a password of
// 4 to 20 characters once trimmed. bcrypt also refuses more than
// maxPasswordBytes, which 20 characters outside ASCII can exceed.
type signupRequest credentials

// maxPasswordBytes is the longest password bcrypt hashes.
const maxPasswordBytes = 72

func (r signupRequest) Validate() map[string]string {
	p := map[string]string{}
	if !validEmail(r.Email.String()) {
		p["email"] = "Email must be valid"
	}
	password := r.Password.Trimmed()
	if n := len([]rune(password)); n < 4 || n > 20 {
		p["password"] = "Password must be between 4 and 20 characters"
	} else if len(password) > maxPasswordBytes {
		p["password"] = "Password is too long"
	}
	return p
}

// signinRequest needs a valid email and some password.
type signinRequest credentials

func (r signinRequest) Validate() map[string]string {
	p := map[string]string{}
	if !validEmail(r.Email.String()) {
		p["email"] = "Email must be valid"
	}
	if r.Password.Trimmed() == "" {
		p["password"] = "You must supply a password"
	}
	return p
}

// validEmail accepts a bare address (no display name) whose domain has a dot.
func validEmail(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".")
}

// normalizeEmail is the form an email is stored and looked up under, so that
// "Ann@Example.com" and "ann@example.com" are one account.
func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// newUser makes an account with a fresh id and a hashed password.
func newUser(email, password string, cost int, now time.Time) (User, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(strings.TrimSpace(password)), cost)
	if err != nil {
		return User{}, err
	}
	return User{ID: newID(), Email: normalizeEmail(email), PasswordHash: hash, CreatedAt: now.UTC()}, nil
}

// checkPassword compares in constant time for the hash's cost.
func (u User) checkPassword(password string) bool {
	return bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(strings.TrimSpace(password))) == nil
}

// decoyHash is compared against when the email is unknown, so that a sign-in
// takes as long whether or not the account exists.
var decoyHash, _ = bcrypt.GenerateFromPassword([]byte("decoy-password"), bcrypt.DefaultCost)

func checkDecoy(password string) {
	_ = bcrypt.CompareHashAndPassword(decoyHash, []byte(password))
}

// newID returns a random 96-bit id in hex, the size of a MongoDB ObjectId.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
