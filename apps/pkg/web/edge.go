package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
)

// The edge: what a request's URL may hold before any handler sees it. A path
// with a NUL, a control character, bytes that are not UTF-8 or an over-long
// segment names nothing that exists: 404, the router's own Not Found. A query
// with such a value, or one that does not parse, is a client error: 400, with
// the parameter as the field. Either way nothing is read, stored or
// published, and nothing is retried: these can never succeed. Bodies are
// checked where they are decoded (Text, Number, Decode), the other half of
// the edge.

const (
	// maxPathSegment bounds one segment of a path (an id is 24 characters).
	maxPathSegment = 256
	// maxQueryValue bounds one query value (a page token is far shorter).
	maxQueryValue = 1024
)

var errBadQuery = apperr.New(apperr.Invalid, "Invalid query")

// edge refuses requests whose URL holds what no route can take (see above);
// notFound answers a bad path (read from the router at request time, so that
// an app may set its own page).
func edge(notFound func() http.Handler) mux.MiddlewareFunc {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !plainPath(r.URL.Path) {
				notFound().ServeHTTP(w, r)
				return
			}
			if field, ok := plainQuery(r.URL.RawQuery); !ok {
				Error(w, r, nil, apperr.Fields(map[string]string{field: "Must be plain text of at most 1024 characters"}))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// plainPath reports whether every segment of a decoded path is plain text of
// at most maxPathSegment bytes.
func plainPath(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if len(seg) > maxPathSegment || !PlainText(seg) {
			return false
		}
	}
	return true
}

// plainQuery reports whether a raw query parses and every key and value is
// plain text of at most maxQueryValue bytes; if not, it names the parameter.
func plainQuery(raw string) (field string, ok bool) {
	if raw == "" {
		return "", true
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "query", false
	}
	for k, vs := range q {
		name := k
		if !PlainText(k) || len(k) > maxQueryValue {
			name = "query"
		}
		if name != k {
			return name, false
		}
		for _, v := range vs {
			if len(v) > maxQueryValue || !PlainText(v) {
				return k, false
			}
		}
	}
	return "", true
}

// PlainText reports whether s is valid UTF-8 without control characters (NUL
// included) and without the Unicode replacement of invalid bytes.
func PlainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}
