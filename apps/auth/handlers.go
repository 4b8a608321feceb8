package main

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/auth"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// userResponse is a user as the API shows it: never the password.
type userResponse struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// handleSignup creates an account and signs it in: 201 with the user and the
// session cookie; 400 "Email in use" if the email is taken.
func handleSignup(log *slog.Logger, cfg config, keys *auth.Keys, users *userStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.DecodeValid[signupRequest](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		ctx := r.Context()
		if _, found, err := users.byEmail(ctx, in.Email.String()); err != nil {
			web.Error(w, r, log, err)
			return
		} else if found {
			web.Error(w, r, log, ErrEmailInUse)
			return
		}
		u, err := newUser(in.Email.String(), in.Password.String(), cfg.BcryptCost, time.Now())
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		if err := users.create(ctx, u); err != nil {
			web.Error(w, r, log, err)
			return
		}
		if !signIn(w, r, log, cfg, keys, u) {
			return
		}
		web.JSON(w, http.StatusCreated, userResponse{ID: u.ID, Email: u.Email})
	})
}

// handleSignin checks the credentials: 200 with the user and the session
// cookie, or 400 "Invalid credentials" whether the email or the password is
// wrong. Failed attempts per account are limited.
func handleSignin(log *slog.Logger, cfg config, keys *auth.Keys, users *userStore, limits *limits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.DecodeValid[signinRequest](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		account := normalizeEmail(in.Email.String())
		if ok, wait := limits.account.peek(account); !ok {
			tooMany(w, r, log, wait)
			return
		}
		u, found, err := users.byEmail(r.Context(), in.Email.String())
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		if !found {
			checkDecoy(in.Password.String())
		}
		if !found || !u.checkPassword(in.Password.String()) {
			limits.account.allow(account)
			web.Error(w, r, log, ErrInvalidCredentials)
			return
		}
		if !signIn(w, r, log, cfg, keys, u) {
			return
		}
		web.JSON(w, http.StatusOK, userResponse{ID: u.ID, Email: u.Email})
	})
}

func signIn(w http.ResponseWriter, r *http.Request, log *slog.Logger, cfg config, keys *auth.Keys, u User) bool {
	token, err := keys.Issue(u.ID, u.Email)
	if err != nil {
		web.Error(w, r, log, err)
		return false
	}
	auth.SetCookie(w, r, token, cfg.SessionTTL)
	return true
}

// handleSignout clears the session: 200 {} as the original.
func handleSignout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.ClearCookie(w, r)
		web.JSON(w, http.StatusOK, struct{}{})
	})
}

// handleCurrentUser answers 200 {"currentUser": {id, email, iat}} when signed
// in and 200 {"currentUser": null} otherwise, never 401.
func handleCurrentUser() http.Handler {
	type response struct {
		CurrentUser *auth.User `json:"currentUser"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var resp response
		if u, ok := auth.FromContext(r.Context()); ok {
			resp.CurrentUser = &u
		}
		web.JSON(w, http.StatusOK, resp)
	})
}

// limitClients spends one token of the caller's budget per request.
func limitClients(log *slog.Logger, limits *limits) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ok, wait := limits.client.allow(clientKey(r)); !ok {
				tooMany(w, r, log, wait)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func tooMany(w http.ResponseWriter, r *http.Request, log *slog.Logger, wait time.Duration) {
	secs := int(wait.Seconds()) + 1
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	web.Error(w, r, log, ErrTooManyAttempts)
}
