package auth

import (
	"context"
	"net/http"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

type ctxKey struct{}

// ErrNotAuthorized is the original's 401 for a missing session or someone
// else's resource.
var ErrNotAuthorized = apperr.New(apperr.Unauthorized, "Not authorized")

// FromContext returns the signed-in user, if any.
func FromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(ctxKey{}).(User)
	return u, ok
}

// WithUser returns ctx carrying u (for tests and for the middleware).
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, ctxKey{}, u)
}

// CurrentUser reads the session cookie, if present and valid, into the request
// context. It never rejects a request: routes that need a user say so with
// Require.
func CurrentUser(keys *Keys) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
				if u, err := keys.Verify(c.Value); err == nil {
					r = r.WithContext(WithUser(r.Context(), u))
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Require answers 401 unless CurrentUser found a signed-in user.
func Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := FromContext(r.Context()); !ok {
			web.JSON(w, http.StatusUnauthorized, web.Body(ErrNotAuthorized))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SetCookie sets the session cookie: HttpOnly, SameSite=Lax, and Secure when the
// request came over TLS (directly or through a proxy that says so).
func SetCookie(w http.ResponseWriter, r *http.Request, token string, ttl time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		MaxAge:   int(ttl.Seconds()),
		HttpOnly: true,
		Secure:   overTLS(r),
		SameSite: http.SameSiteLaxMode,
	})
}

// ClearCookie removes the session cookie.
func ClearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		Expires:  time.Unix(0, 0),
		HttpOnly: true,
		Secure:   overTLS(r),
		SameSite: http.SameSiteLaxMode,
	})
}

func overTLS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}
