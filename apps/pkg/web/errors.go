// Package web holds the HTTP plumbing every service shares: decoding and
// validating requests, writing JSON, the one mapping from error kinds to
// statuses, and middleware (request ids, logging, panics).
package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
)

// StatusOf is the one place that maps an error kind to an HTTP status.
func StatusOf(err error) int {
	switch apperr.CodeOf(err) {
	case apperr.Invalid, apperr.Rule:
		return http.StatusBadRequest
	case apperr.Unauthorized:
		return http.StatusUnauthorized
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.TooMany:
		return http.StatusTooManyRequests
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// ErrorBody is the error shape of the original system, kept so that its clients
// work unchanged: {"errors":[{"message":"...","field":"..."}]}.
type ErrorBody struct {
	Errors []ErrorItem `json:"errors"`
}

// ErrorItem is one problem; Field is set for input validation errors only.
type ErrorItem struct {
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Body returns the user-facing body for err. Internal errors never show their
// details: those go to the log, under the request id.
func Body(err error) ErrorBody {
	var e *apperr.Error
	if !errors.As(err, &e) || e.Code == apperr.Internal {
		return ErrorBody{Errors: []ErrorItem{{Message: "Something went wrong"}}}
	}
	if e.Code == apperr.Invalid && len(e.Fields) > 0 {
		items := make([]ErrorItem, 0, len(e.Fields))
		for _, f := range e.FieldNames() {
			items = append(items, ErrorItem{Message: e.Fields[f], Field: f})
		}
		return ErrorBody{Errors: items}
	}
	return ErrorBody{Errors: []ErrorItem{{Message: e.Message}}}
}

// Error writes err as JSON with its status. 5xx errors are logged with the
// request id, which the response also carries in X-Request-Id.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := StatusOf(err)
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "request_id", RequestID(r.Context()),
			"method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	JSON(w, status, Body(err))
}
