package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestTheRequestLineCarriesTheHandlersAnnotations(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	h := Observe(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Annotate(r.Context(), slog.Int("events", 3), slog.Int("retry", 1))
		w.WriteHeader(http.StatusOK)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/events/order-created", nil))
	line := out.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, "status=200") || !strings.Contains(line, "events=3 retry=1") {
		t.Errorf("log %q, want one request line with the annotations", line)
	}
	Annotate(context.Background(), slog.Int("events", 1)) // outside a request: nothing, no panic
}
