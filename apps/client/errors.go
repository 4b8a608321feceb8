package main

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// pageError is a page's own refusal, shown as an error page with its status.
type pageError struct {
	Status  int
	Heading string
	Message string
}

func (e *pageError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Heading, e.Message) }

var errBadForm = &pageError{Status: http.StatusBadRequest, Heading: "Bad request",
	Message: "The form could not be read. Please go back and try again."}

// fail shows what went wrong as a page, never the details: a service that did
// not answer is named on a 503 page, a missing record is the 404 page, a
// request for someone else's record is a 403 page (or the sign-in form for
// nobody), and anything unexpected is logged with the request id and shown as
// a 500 page.
func (v *views) fail(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	var pe *pageError
	if errors.As(err, &pe) {
		v.errorPage(w, r, pe.Status, pe.Heading, pe.Message)
		return
	}
	var se *serviceError
	if !errors.As(err, &se) {
		se = &serviceError{Status: http.StatusInternalServerError, cause: err}
	}
	switch {
	case se.unavailable():
		v.log.WarnContext(ctx, "service unavailable", "service", se.Service, "request_id", web.RequestID(ctx), "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		v.errorPage(w, r, http.StatusServiceUnavailable, "Service unavailable",
			fmt.Sprintf("The %s service did not answer. Please try again in a moment.", se.Service))
	case se.Status == http.StatusNotFound:
		v.notFound(w, r)
	case se.Status == http.StatusUnauthorized && userFrom(ctx) == nil:
		http.Redirect(w, r, "/auth/signin", http.StatusSeeOther)
	case se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden:
		v.errorPage(w, r, http.StatusForbidden, "Not authorized", "This belongs to another account.")
	case se.Status/100 == 4:
		msgs := se.Messages
		for _, f := range slices.Sorted(maps.Keys(se.Fields)) {
			msgs = append(msgs, se.Fields[f])
		}
		v.errorPage(w, r, se.Status, http.StatusText(se.Status), strings.Join(msgs, " "))
	default:
		v.log.ErrorContext(ctx, "page failed", "service", se.Service, "request_id", web.RequestID(ctx), "path", r.URL.Path, "err", err)
		v.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
			"Please try again. If it keeps happening, quote request id "+web.RequestID(ctx)+".")
	}
}

func (v *views) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	v.render(w, r, status, "error", errorPage{layout: v.layout(r, heading), Status: status, Heading: heading, Message: message})
}

func (v *views) notFound(w http.ResponseWriter, r *http.Request) {
	v.errorPage(w, r, http.StatusNotFound, "Page not found", "There is nothing here: the link may be wrong, or what it showed is gone.")
}

func notFoundPage(v *views) http.Handler {
	return http.HandlerFunc(v.notFound)
}

func methodNotAllowedPage(v *views) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.errorPage(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page cannot be used that way.")
	})
}

func forbiddenPage(v *views, message string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.errorPage(w, r, http.StatusForbidden, "Not allowed", message)
	})
}
