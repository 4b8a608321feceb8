// Package apperr holds the small set of error kinds every service speaks:
// invalid input, a broken business rule, not signed in or not allowed, not
// found, a lost race, too many requests, a dependency that is down, and
// everything else. Domain code returns them; exactly one function
// (web.StatusOf) turns them into HTTP statuses.
//
// It depends on the standard library only, so domain files can use it without
// importing net/http.
package apperr

import (
	"errors"
	"sort"
)

// Code is the kind of an error.
type Code string

const (
	Invalid      Code = "invalid"      // the request itself is malformed; see Fields
	Rule         Code = "rule"         // a business rule refuses the request ("Ticket is already reserved")
	Unauthorized Code = "unauthorized" // no session, or someone else's resource
	NotFound     Code = "not_found"    // no such record or route
	Conflict     Code = "conflict"     // a concurrent change won; the caller may retry
	TooMany      Code = "too_many"     // rate limited
	Unavailable  Code = "unavailable"  // a dependency (sidecar, Stripe) is down; safe to retry
	Internal     Code = "internal"     // anything else: a bug or an unexpected failure
)

// Error is an error with a kind and a message written for the user.
type Error struct {
	Code    Code
	Message string
	// Fields maps an input field to what is wrong with it (Code Invalid).
	Fields map[string]string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// New returns an error of the given kind with a user-facing message. Package-level
// values made with New serve as sentinels for errors.Is.
func New(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// Fields returns an Invalid error with one message per field, or nil when
// problems is empty, so `if err := apperr.Fields(p); err != nil` reads naturally.
func Fields(problems map[string]string) error {
	if len(problems) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Message: "Invalid request", Fields: problems}
}

// CodeOf returns the kind of err: the Code of the first *Error in its chain, or
// Internal for anything else.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// FieldNames returns the fields of an Invalid error in a stable order.
func (e *Error) FieldNames() []string {
	names := make([]string, 0, len(e.Fields))
	for name := range e.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
