package main

import (
	"context"
	"errors"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
)

// userStore keeps users in auth's own state store, one key per email, so that
// an email exists once: creation is create-only (first-write), and of two
// concurrent sign-ups with one email exactly one succeeds.
type userStore struct {
	state sidecar.State
}

func newUserStore(state sidecar.State) *userStore { return &userStore{state: state} }

func userKey(email string) string { return "user|" + normalizeEmail(email) }

// byEmail returns the user with that email, or found=false.
func (s *userStore) byEmail(ctx context.Context, email string) (u User, found bool, err error) {
	it, err := s.state.Get(ctx, userKey(email))
	if err != nil || !it.Found() {
		return User{}, false, err
	}
	return u, true, it.Decode(&u)
}

// create saves a new user; ErrEmailInUse if the email is taken.
func (s *userStore) create(ctx context.Context, u User) error {
	err := s.state.Transact(ctx, sidecar.Op{Key: userKey(u.Email), Value: u, Create: true})
	if errors.Is(err, sidecar.ErrConflict) {
		return ErrEmailInUse
	}
	return err
}
