package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/tixmesh/ticketing/apps/pkg/tracing"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	annotationsKey
)

// annotations are attributes a handler adds to its request's log line.
type annotations struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

// Annotate adds attrs to the one line Observe logs for the request being
// served (a bulk delivery says how many events it carried, and what became of
// them). Outside Observe it does nothing.
func Annotate(ctx context.Context, attrs ...slog.Attr) {
	if a, ok := ctx.Value(annotationsKey).(*annotations); ok {
		a.mu.Lock()
		a.attrs = append(a.attrs, attrs...)
		a.mu.Unlock()
	}
}

// RequestID returns the id of the request being served, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// NewID returns a random 128-bit id in hex.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Observe gives every request an id (kept from X-Request-Id when a proxy set
// one), recovers panics as 500s, and logs one line per request with the
// method, route template, status, duration and the W3C trace id that Dapr
// propagates. Health probes are not logged.
func Observe(log *slog.Logger) mux.MiddlewareFunc {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if RequestID(r.Context()) != "" { // observed already (a handler handing over to another)
				next.ServeHTTP(w, r)
				return
			}
			id := r.Header.Get("X-Request-Id")
			if id == "" || len(id) > 64 {
				id = NewID()
			}
			w.Header().Set("X-Request-Id", id)
			// Continue the caller's trace (Dapr sends traceparent with every
			// delivery), or start one; sidecar calls made for this request carry it.
			tp := r.Header.Get("traceparent")
			if !tracing.Valid(tp) {
				tp = tracing.New()
			}
			notes := &annotations{}
			ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey, id), annotationsKey, notes)
			ctx = tracing.WithParent(ctx, tp)
			r = r.WithContext(ctx)
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			start := time.Now()
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					Error(rec, r, log, fmt.Errorf("panic: %v", p))
				}
				if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
					return
				}
				attrs := []slog.Attr{
					slog.String("method", r.Method),
					slog.String("route", routeOf(r)),
					slog.Int("status", rec.status),
					slog.Duration("duration", time.Since(start)),
					slog.String("request_id", id),
					slog.String("trace_id", tracing.TraceID(tp)),
				}
				notes.mu.Lock()
				attrs = append(attrs, notes.attrs...)
				notes.mu.Unlock()
				log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

func routeOf(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if tpl, err := route.GetPathTemplate(); err == nil {
			return tpl
		}
	}
	return r.URL.Path
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// NotFound answers unknown routes with the original's 404 body.
func NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		JSON(w, http.StatusNotFound, ErrorBody{Errors: []ErrorItem{{Message: "Not Found"}}})
	})
}

// MethodNotAllowed answers a known route with the wrong method.
func MethodNotAllowed() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		JSON(w, http.StatusMethodNotAllowed, ErrorBody{Errors: []ErrorItem{{Message: "Method not allowed"}}})
	})
}

// NewRouter returns a gorilla/mux router with the shared 404/405 bodies, the
// Observe middleware and the edge (see edge.go). Unknown routes are logged
// too.
func NewRouter(log *slog.Logger) *mux.Router {
	r := mux.NewRouter()
	observe := Observe(log)
	r.NotFoundHandler = observe(NotFound())
	r.MethodNotAllowedHandler = observe(MethodNotAllowed())
	r.Use(observe, edge(func() http.Handler { return r.NotFoundHandler }))
	return r
}
