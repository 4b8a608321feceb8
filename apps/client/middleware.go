package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// withUser asks auth who is signed in, once per page, and keeps the answer in
// the request context; a page cannot be shown right without it, so auth not
// answering is the 503 page.
func withUser(v *views, svc *services) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, err := svc.currentUser(r)
			if err != nil {
				v.fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(withUserContext(r.Context(), u)))
		})
	}
}

// tryUser is withUser for the error pages: without an answer from auth they
// show the signed-out header rather than another error.
func tryUser(svc *services) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, err := svc.currentUser(r); err == nil {
				r = r.WithContext(withUserContext(r.Context(), u))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// signedIn sends anybody not signed in to the sign-in form.
func signedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if userFrom(r.Context()) == nil {
			http.Redirect(w, r, "/auth/signin", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows scripts from this origin, the page's inline
// scripts (by nonce) and Stripe.js with its frames; nothing may frame the
// pages, and forms post only here. Inline styles are allowed for Stripe's card
// element.
const contentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self' 'nonce-%s' https://js.stripe.com https://*.js.stripe.com; " +
	"frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com; " +
	"connect-src 'self' https://api.stripe.com; " +
	"img-src 'self' data: https://*.stripe.com; " +
	"style-src 'self' 'unsafe-inline'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// secureHeaders gives each page a fresh script nonce and the security headers.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		nonce := base64.RawURLEncoding.EncodeToString(b[:])
		h := w.Header()
		h.Set("Content-Security-Policy", fmt.Sprintf(contentSecurityPolicy, nonce))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nonceKey, nonce)))
	})
}

// staticFiles serves the embedded stylesheet. Pages link it with its content
// hash, so a browser may keep it for a day without missing a change.
func staticFiles() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no folder listings
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
