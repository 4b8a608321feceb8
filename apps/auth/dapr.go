package main

import (
	"context"

	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// userStore keeps users in auth's own state store, one key per email, so that
// an email exists once: creation is create-only, and of two concurrent
// sign-ups with one email exactly one succeeds. Auth publishes nothing.
type userStore struct {
	db *store.Store
}

func newUserStore(db *store.Store) *userStore { return &userStore{db: db} }

func userKey(email string) string { return "user|" + normalizeEmail(email) }

// byEmail returns the user with that email, or found=false.
func (s *userStore) byEmail(ctx context.Context, email string) (u User, found bool, err error) {
	it, err := s.db.Get(ctx, userKey(email))
	if err != nil || !it.Found() {
		return User{}, false, err
	}
	return u, true, it.Decode(&u)
}

// create saves a new user; ErrEmailInUse if the email is taken (also by a
// sign-up that committed first, racing this one).
func (s *userStore) create(ctx context.Context, u User) error {
	_, err := store.Apply(ctx, s.db, store.Change[User]{
		Keys: []string{userKey(u.Email)},
		Decide: func(r store.Read) (User, store.Effect, error) {
			if r.Item(userKey(u.Email)).Found() {
				return User{}, store.Effect{}, ErrEmailInUse
			}
			return u, store.Effect{Ops: []store.Op{store.Create(userKey(u.Email), u)}}, nil
		},
	})
	return err
}
