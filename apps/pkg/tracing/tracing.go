// Package tracing carries a W3C trace context (the traceparent header) from an
// incoming request to every sidecar call it makes, so one trace id follows a
// request through the API, the published events and their handlers, in every
// service's logs and in Dapr's spans.
package tracing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
)

type ctxKey struct{}

// New returns a fresh, sampled traceparent.
func New() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return "00-" + h[:32] + "-" + h[32:] + "-01"
}

// Valid reports whether tp is a version-00 traceparent with non-zero ids.
func Valid(tp string) bool {
	p := strings.Split(tp, "-")
	if len(p) != 4 || p[0] != "00" || len(p[1]) != 32 || len(p[2]) != 16 || len(p[3]) != 2 {
		return false
	}
	for _, s := range p[1:] {
		if _, err := hex.DecodeString(s); err != nil {
			return false
		}
	}
	return strings.Trim(p[1], "0") != "" && strings.Trim(p[2], "0") != ""
}

// TraceID returns the trace id part of a traceparent, or "".
func TraceID(tp string) string {
	if !Valid(tp) {
		return ""
	}
	return tp[3:35]
}

// WithParent returns ctx carrying the traceparent tp.
func WithParent(ctx context.Context, tp string) context.Context {
	return context.WithValue(ctx, ctxKey{}, tp)
}

// Parent returns the traceparent ctx carries, or "".
func Parent(ctx context.Context) string {
	tp, _ := ctx.Value(ctxKey{}).(string)
	return tp
}
